"""Serving a paper: streamed, verified as it goes, with Range support and headers that keep
browsers from sniffing, caching or rendering it in the vault's origin."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.responses import StreamingResponse

from vault.api.errors import problem
from vault.crypto import CHUNK_SIZE
from vault.documents import Content
from vault.sharing.access import Delivery

# ASCII digits only, and few enough for int(): a longer bound is ignored like any bad header.
_RANGE = re.compile(r"^bytes=([0-9]{0,18})-([0-9]{0,18})$")


def content_disposition(filename: str, *, inline: bool = False) -> str:
    fallback = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def protective_headers() -> dict[str, str]:
    return {
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
        "Content-Security-Policy": "sandbox; default-src 'none'",
    }


def paper_response(
    request: Request,
    content: Content,
    *,
    inline: bool = False,
    ranges: bool = True,
    opened: Iterator[bytes] | None = None,
) -> Response:
    """`ranges=False` where each download is counted: a Range request is a whole download.
    `opened`: the whole paper, already opened and its first chunk verified by the service."""
    etag = f'"{content.sha256}"'
    headers = {
        **protective_headers(),
        "ETag": etag,
        "Accept-Ranges": "bytes" if ranges else "none",
        "Content-Disposition": content_disposition(content.filename, inline=inline),
    }
    if ranges and request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    try:
        wanted = _wanted_range(request, etag, content.size) if ranges else None
    except _Unsatisfiable:
        return problem(
            416,
            f"The range is outside this paper of {content.size} bytes.",
            headers={"Content-Range": f"bytes */{content.size}"},
        )
    start, stop = wanted or (0, content.size)
    chunks = opened if opened is not None and not wanted else content.chunks(start, stop)
    headers["Content-Length"] = str(stop - start)
    status = 200
    if wanted:
        status = 206
        headers["Content-Range"] = f"bytes {start}-{stop - 1}/{content.size}"
    if stop - start <= CHUNK_SIZE:
        # One chunk, already read and verified: sent whole, without a streaming round trip.
        body = b"".join(chunks)
        return Response(body, status_code=status, media_type=content.content_type, headers=headers)
    # A plain iterator: Starlette pulls each chunk in a worker thread while the store reads ahead.
    return StreamingResponse(
        chunks, status_code=status, media_type=content.content_type, headers=headers
    )


class _Unsatisfiable(Exception):
    pass


def _wanted_range(request: Request, etag: str, size: int) -> tuple[int, int] | None:
    """(start, stop) of the one range asked for, or None for the whole paper.

    Several ranges, or a stale If-Range, get the whole paper, as RFC 9110 allows."""
    header = request.headers.get("range")
    if not header or request.headers.get("if-range", etag) != etag:
        return None
    match = _RANGE.match(header.replace(" ", ""))
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:
        start, stop = max(size - int(last), 0), size
    else:
        start, stop = int(first), min(int(last) + 1, size) if last else size
    if start >= size or start >= stop or size == 0:
        raise _Unsatisfiable
    return start, stop


def delivery_response(request: Request, delivery: Delivery, *, inline: bool = False) -> Response:
    """What an agency receives: the paper streamed as stored (no ranges: each download is
    counted), or the stamped copy — shown in the page when `inline`."""
    if delivery.content is not None:
        return paper_response(request, delivery.content, ranges=False, opened=delivery.stream)
    headers = {
        **protective_headers(),
        "Content-Disposition": content_disposition(delivery.filename, inline=inline),
    }
    return Response(delivery.stamped, media_type=delivery.stamped_type, headers=headers)
