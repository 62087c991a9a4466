"""Speaking tus 1.0.0 to the vault by hand, and a PDF with a plaintext marker all through it."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from tests.support import files
from vault.documents import resumable

TUS = {"Tus-Resumable": "1.0.0"}
CHUNK = {**TUS, "Content-Type": "application/offset+octet-stream"}


def metadata(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def create(
    client: Any,
    headers: dict[str, str],
    length: int,
    filename: str = "giay-to.pdf",
    filetype: str = "application/pdf",
) -> Any:
    return client.post(
        "/api/v1/uploads",
        headers={
            **headers,
            **TUS,
            "Upload-Length": str(length),
            "Upload-Metadata": metadata(filename=filename, filetype=filetype),
        },
    )


def upload_id(created: Any) -> str:
    assert created.status_code == 201, created.text
    return str(created.headers["location"]).rsplit("/", 1)[-1]


def patch(
    client: Any, headers: dict[str, str], uid: str, offset: int, data: bytes, **extra: str
) -> Any:
    return client.patch(
        f"/api/v1/uploads/{uid}",
        headers={**headers, **CHUNK, "Upload-Offset": str(offset), **extra},
        content=data,
    )


def head(client: Any, headers: dict[str, str], uid: str) -> Any:
    return client.head(f"/api/v1/uploads/{uid}", headers={**headers, **TUS})


def checksum(data: bytes, algorithm: str = "sha256") -> str:
    return f"{algorithm} {base64.b64encode(hashlib.new(algorithm, data).digest()).decode()}"


def send_all(client: Any, headers: dict[str, str], data: bytes, step: int = 1 << 20) -> str:
    uid = upload_id(create(client, headers, len(data)))
    for offset in range(0, len(data), step):
        sent = patch(client, headers, uid, offset, data[offset : offset + step])
        assert sent.status_code == 204, sent.text
    return uid


def joined_but_refused(client: Any, headers: dict[str, str], data: bytes) -> str:
    """A finished upload whose object an attempt already joined in the store, and which was
    refused (the PDF sent with a photo beside it): the upload stays, to make a paper later."""
    uid = send_all(client, headers, data, step=resumable.PART_SIZE)
    refused = client.post(
        "/api/v1/documents",
        headers=headers,
        data={"doc_type": "GKS", "upload_id": uid},
        files={"file": ("anh.jpg", files.jpeg_with_gps(), "image/jpeg")},
    )
    assert refused.status_code == 422, refused.text
    return uid


def marked_pdf(size: int) -> bytes:
    """A valid PDF of about `size` bytes whose bulk carries files.MARKER every 64 KiB."""
    _, pieces = files.big_pdf_stream(size)
    data = bytearray(b"".join(pieces))  # type: ignore[arg-type]
    for at in range(1024, len(data) - 1024, 64 << 10):
        data[at : at + len(files.MARKER)] = files.MARKER
    return bytes(data)
