"""The infrastructure a service works with, built once per app from the settings."""

from __future__ import annotations

from dataclasses import dataclass

from storage import BlobStore
from vault.keys import Keyring
from vault.kit.sandbox import Sandbox


@dataclass(frozen=True)
class Limits:
    max_upload_bytes: int
    max_pages: int = 20
    max_pdf_pages: int = 5000
    max_image_bytes: int = 64 << 20
    max_image_pixels: int = 64_000_000


@dataclass(frozen=True)
class ReadingOptions:
    """Whether papers are read (QR codes, OCR), and where Tesseract's models are."""

    enabled: bool = True
    tessdata: str | None = None  # None: Debian's directory and the usual others


@dataclass(frozen=True)
class Backend:
    store: BlobStore
    keyring: Keyring
    sandbox: Sandbox
    limits: Limits
    reading: ReadingOptions = ReadingOptions()
