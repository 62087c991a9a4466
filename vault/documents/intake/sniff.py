"""The type the bytes prove, never the one the client's name or Content-Type claims."""

from __future__ import annotations

from enum import Enum

from vault.kit.errors import UnsupportedFile

SNIFF_BYTES = 16


class Kind(Enum):
    JPEG = "JPEG"
    PNG = "PNG"
    WEBP = "WEBP"
    TIFF = "TIFF"
    HEIF = "HEIF"
    PDF = "PDF"

    @property
    def is_image(self) -> bool:
        return self is not Kind.PDF


_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}


def sniff(head: bytes) -> Kind:
    if head.startswith(b"\xff\xd8\xff"):
        return Kind.JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Kind.PNG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Kind.WEBP
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return Kind.TIFF
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return Kind.HEIF
    if head.startswith(b"%PDF-"):
        return Kind.PDF
    raise UnsupportedFile(
        "This file is not a photo or scan the vault accepts: "
        "send JPEG, PNG, WebP, TIFF, HEIC/HEIF or PDF."
    )
