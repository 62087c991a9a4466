"""multipart/form-data bodies, streamed: never spooled to a temporary file, never held whole.

Starlette's UploadFile writes bodies over 1 MiB to an unencrypted temporary file; the vault
cannot allow plaintext on disk, so it parses the body itself. The event loop reads the socket
and hands batches of about 1 MiB to the worker thread where the service consumes the parts,
so parsing, encryption and the upload to the store run while the next bytes arrive.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import parse_qsl

import anyio
import anyio.from_thread
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from fastapi import Request
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect

from vault.api import bodies
from vault.documents.uploads import FormField, FormPart
from vault.kit.errors import FileTooLarge, InvalidInput, UnsupportedFile

_BATCH = 1 << 20
_OVERHEAD = 1 << 20  # boundaries, part headers and the small fields beside the files
_Batch = list[bytes] | BaseException


@dataclass(frozen=True)
class FormLimits:
    max_file_bytes: int
    max_files: int
    max_fields: int = 16
    max_field_bytes: int = 8 << 10

    @property
    def max_body(self) -> int:
        return self.max_file_bytes + _OVERHEAD


@asynccontextmanager
async def streamed_form(request: Request, limits: FormLimits) -> AsyncIterator[Iterator[FormPart]]:
    """The parts of the request's form, to be iterated in a worker thread. A form without files
    (a paper made of finished resumable uploads) may also come urlencoded; it is small, and
    read whole under the ordinary body limit."""
    content_type = request.headers.get("content-type", "")
    if parse_options_header(content_type)[0] == b"application/x-www-form-urlencoded":
        yield _urlencoded(await request.body(), limits)
        return
    boundary = _boundary(content_type)
    bodies.lift(request.scope)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limits.max_body:
        raise FileTooLarge(f"An upload is limited to {limits.max_file_bytes / (1 << 20):,.0f} MiB.")
    send, receive = anyio.create_memory_object_stream[_Batch](max_buffer_size=4)
    failure: BaseException | None = None
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(_pump, request, send, limits)
        try:
            with receive:
                yield _parts(_batches(receive), boundary, limits)
        except BaseException as error:
            failure = error  # re-raised as itself, not wrapped in the task group's ExceptionGroup
        tasks.cancel_scope.cancel()
    if failure is not None:
        raise failure


class StreamedBody:
    """A raw body's bytes, to be iterated in a worker thread. A client that goes away mid-body
    ends the iteration early instead of failing it, and so does a body that ends short of its
    Content-Length: `cut` says so once iterated, and what arrived is the caller's to keep or
    drop."""

    def __init__(self, chunks: Iterator[bytes], declared: int | None) -> None:
        self._chunks = chunks
        self.declared = declared  # Content-Length
        self._received = 0
        self.cut = False

    def __iter__(self) -> Iterator[bytes]:
        try:
            for chunk in self._chunks:
                self._received += len(chunk)
                yield chunk
        except ClientDisconnect:
            self.cut = True
            return
        self.cut = self.declared is not None and self._received < self.declared


@asynccontextmanager
async def streamed_body(request: Request, limit: int) -> AsyncIterator[StreamedBody]:
    """A raw body, at most `limit` bytes of it."""
    bodies.lift(request.scope)
    header = request.headers.get("content-length")
    declared = int(header) if header is not None and header.isdigit() else None
    if declared is not None and declared > limit:
        raise FileTooLarge(f"The body is limited to {limit:,} bytes here.")
    send, receive = anyio.create_memory_object_stream[_Batch](max_buffer_size=4)
    limits = FormLimits(max_file_bytes=max(0, limit - _OVERHEAD), max_files=0)
    failure: BaseException | None = None
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(_pump, request, send, limits)
        try:
            with receive:
                yield StreamedBody(_batches(receive), declared)
        except BaseException as error:
            failure = error
        tasks.cancel_scope.cancel()
    if failure is not None:
        raise failure


def _urlencoded(body: bytes, limits: FormLimits) -> Iterator[FormPart]:
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput("The form is not valid UTF-8 text.") from None
    if len(pairs) > limits.max_fields:
        raise InvalidInput("Too many form fields.")
    for name, value in pairs:
        if len(value) > limits.max_field_bytes:
            raise InvalidInput(f"The field {name!r} is too long.", field=name)
    return iter([FormField(name, value) for name, value in pairs])


def _boundary(content_type: str) -> bytes:
    kind, options = parse_options_header(content_type)
    if kind != b"multipart/form-data" or not options.get(b"boundary"):
        raise UnsupportedFile(
            "Send the paper as multipart/form-data, with the file in a part named 'file'."
        )
    return options[b"boundary"]


async def _pump(request: Request, send: MemoryObjectSendStream[_Batch], limits: FormLimits) -> None:
    """Whatever stops the reading (a client gone, a body over a limit, a refusal from a
    middleware) is handed to the reader, to be raised where the body is read: raised here, in
    the task group, it would escape as an ExceptionGroup (a 500 with no problem document), and
    the reader would take the stream closed under it for the end of the body."""
    total, size, batch = 0, 0, []
    async with send:
        try:
            try:
                async for chunk in request.stream():
                    total += len(chunk)
                    if total > limits.max_body:
                        raise FileTooLarge(
                            f"An upload is limited to {limits.max_file_bytes / (1 << 20):,.0f} MiB."
                        )
                    batch.append(chunk)
                    size += len(chunk)
                    if size >= _BATCH:
                        await send.send(batch)
                        batch, size = [], 0
                if batch:
                    await send.send(batch)
            except ClientDisconnect as error:
                if batch:  # what did arrive is handed on first: a resumable upload keeps it
                    await send.send(batch)
                await send.send(error)
            except Exception as error:  # noqa: BLE001 - handed on, not swallowed
                await send.send(error)
        except anyio.BrokenResourceError:
            pass  # the reader stopped early: the request was refused already


def _batches(receive: MemoryObjectReceiveStream[_Batch]) -> Iterator[bytes]:
    while True:
        try:
            batch = anyio.from_thread.run(receive.receive)
        except anyio.EndOfStream:
            return
        if isinstance(batch, BaseException):
            raise batch
        yield from batch


def _events(chunks: Iterator[bytes], boundary: bytes) -> Iterator[tuple[str, object]]:
    events: deque[tuple[str, object]] = deque()
    headers: dict[str, str] = {}
    name: list[bytes] = []
    value: list[bytes] = []
    ended: list[bool] = []

    def header_end() -> None:
        headers[b"".join(name).decode("latin-1").lower()] = b"".join(value).decode("latin-1")
        name.clear()
        value.clear()

    def headers_finished() -> None:
        events.append(("headers", dict(headers)))
        headers.clear()

    try:
        parser = MultipartParser(
            boundary,
            {
                "on_header_field": lambda data, start, end: name.append(data[start:end]),
                "on_header_value": lambda data, start, end: value.append(data[start:end]),
                "on_header_end": header_end,
                "on_headers_finished": headers_finished,
                "on_part_data": lambda data, start, end: events.append(("data", data[start:end])),
                "on_part_end": lambda: events.append(("end", None)),
                "on_end": lambda: ended.append(True),
            },
            max_header_count=16,
            max_header_size=8 << 10,
        )
        for chunk in chunks:
            parser.write(chunk)
            while events:
                yield events.popleft()
        parser.finalize()
    except FormParserError:  # a malformed body, or a boundary the parser refuses
        raise InvalidInput("The multipart body is malformed.") from None
    yield from events
    if not ended:
        raise InvalidInput("The multipart body ended before its closing boundary.")


class _StreamedFile:
    def __init__(self, name: str, filename: str, events: Iterator[tuple[str, object]]) -> None:
        self.name = name
        self.filename: str | None = filename
        self._events = events
        self._finished = False

    def chunks(self) -> Iterator[bytes]:
        for kind, payload in self._events:
            if kind == "data":
                yield payload  # type: ignore[misc]
            elif kind == "end":
                self._finished = True
                return

    def drain(self) -> None:
        if not self._finished:
            for _ in self.chunks():
                pass


def _parts(chunks: Iterator[bytes], boundary: bytes, limits: FormLimits) -> Iterator[FormPart]:
    events = _events(chunks, boundary)
    fields = files = 0
    for kind, payload in events:
        if kind != "headers":
            continue
        disposition, options = parse_options_header(payload.get("content-disposition", ""))  # type: ignore[attr-defined]
        if disposition != b"form-data" or b"name" not in options:
            raise InvalidInput(
                "Each part needs a Content-Disposition: form-data header with a name."
            )
        name = options[b"name"].decode("utf-8", "replace")
        if b"filename" in options:
            files += 1
            if files > limits.max_files:
                raise InvalidInput(f"Send at most {limits.max_files} files at once.", field=name)
            part = _StreamedFile(name, options[b"filename"].decode("utf-8", "replace"), events)
            yield part
            part.drain()
        else:
            fields += 1
            if fields > limits.max_fields:
                raise InvalidInput("Too many form fields.")
            yield FormField(name, _field_value(events, name, limits.max_field_bytes))


def _field_value(events: Iterator[tuple[str, object]], name: str, limit: int) -> str:
    data = b""
    for kind, payload in events:
        if kind == "end":
            break
        data += payload  # type: ignore[operator]
        if len(data) > limit:
            raise InvalidInput(f"The field {name!r} is too long.", field=name)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"The field {name!r} is not UTF-8 text.", field=name) from None
