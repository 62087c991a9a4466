"""Reading a paper: the QR code of a căn cước during the upload, Tesseract OCR of any other
paper in a background job, and what the vault suggests from them (a type, a number, names and
dates) until the citizen confirms. Owns the `document_reading` table; the hostile images are
decoded only in the sandbox (`qr.codes_in` within the upload's `images.normalise`,
`qr.decode_photos`, `ocr.read_image`, `ocr.read_pdf`)."""

from vault.documents.recognition.models import DocumentReading, ReadingSource, ReadingStatus
from vault.documents.recognition.service import (
    ReadingView,
    Warning,
    accept,
    code_reader,
    codes_on,
    read_queued,
    reading_of,
    start,
    text_of,
    view,
)

# What the sandbox's workers import before the first paper is read.
SANDBOX_PRELOAD = (
    "vault.documents.recognition.qr",
    "vault.documents.recognition.ocr",
    "zxingcpp",
)

__all__ = [
    "SANDBOX_PRELOAD",
    "DocumentReading",
    "ReadingSource",
    "ReadingStatus",
    "ReadingView",
    "Warning",
    "accept",
    "code_reader",
    "codes_on",
    "read_queued",
    "reading_of",
    "start",
    "text_of",
    "view",
]
