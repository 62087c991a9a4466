"""Tesseract with its Vietnamese model, through tesserocr, inside the sandbox.

tesserocr calls libtesseract in the worker's own process: the image is handed over in memory
(pytesseract would write it and the text to temporary files, plaintext on a disk) and the
model is loaded once per worker, not once per page. Only the sandbox imports this module's
functions; the server never decodes the image.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from vault.kit.errors import CorruptFile

LANGUAGE = "vie"
MAX_SIDE = 2600  # a phone photo of a page is read at this size: enough for print, much faster
MAX_PAGES = 2  # a paper says what it is on its first page; the second catches a cover sheet
TESSDATA_DIRS = (
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
    "/usr/local/share/tessdata",
)
INSTALL_HINT = "apt-get install tesseract-ocr tesseract-ocr-vie"


class OcrUnavailable(Exception):
    """Tesseract or its Vietnamese model is not installed on this host."""


@dataclass(frozen=True)
class Text:
    text: str
    confidence: float  # Tesseract's mean word confidence, 0..1
    codes: list[str]  # QR codes on the pages read (a procedure's result carries one)


def tessdata_dir(configured: str | None) -> str:
    """The directory holding vie.traineddata: the one configured, else Debian's and the usual
    others. Runs anywhere (it reads no paper), so the server can tell before queueing a job."""
    for where in [configured] if configured else TESSDATA_DIRS:
        if where and (Path(where) / f"{LANGUAGE}.traineddata").is_file():
            return where
    looked = configured or ", ".join(TESSDATA_DIRS)
    raise OcrUnavailable(
        f"Tesseract's Vietnamese model ({LANGUAGE}.traineddata) is not installed here "
        f"(looked in {looked}); install it with `{INSTALL_HINT}`."
    )


def problem(configured: str | None) -> str | None:
    """Why OCR cannot run on this host, or None: checked before a job is queued, without
    loading anything (the job itself finds out again, in the sandbox)."""
    import importlib.util

    if importlib.util.find_spec("tesserocr") is None:
        return "OCR is not installed on this vault (the tesserocr package is missing)."
    try:
        tessdata_dir(configured)
    except OcrUnavailable as missing:
        return str(missing)
    return None


_api: Any = None
_api_path: str | None = None


def _engine(tessdata: str) -> Any:
    global _api, _api_path
    if _api is None or _api_path != tessdata:
        os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # one core per worker: the pool is two
        try:
            import tesserocr
        except ImportError as error:
            raise OcrUnavailable(f"tesserocr cannot be loaded ({error}).") from None
        try:
            _api = tesserocr.PyTessBaseAPI(path=tessdata + os.sep, lang=LANGUAGE)
        except RuntimeError as error:
            raise OcrUnavailable(f"Tesseract cannot start ({error}).") from None
        _api_path = tessdata
    return _api


def read_image(data: bytes, *, tessdata: str | None, max_pixels: int) -> Text:
    """In the sandbox: the text of one photo or scan (a normalised one: upright, no metadata)."""
    from PIL import Image, UnidentifiedImageError

    from vault.documents.recognition import qr

    where = tessdata_dir(tessdata)
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with Image.open(io.BytesIO(data)) as image:
            page = _prepared(image)
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise CorruptFile("This photo cannot be read.") from error
    codes = qr.decode_photos([data], max_pixels=max_pixels)
    text, confidence = _ocr(where, [page])
    return Text(text, confidence, codes)


def read_pdf(source: BinaryIO, *, tessdata: str | None, max_pixels: int) -> Text:
    """In the sandbox: the text of a PDF's first pages, drawn at about 200 dpi."""
    import pypdfium2

    from vault.documents.recognition import qr

    where = tessdata_dir(tessdata)
    pages = []
    codes: list[str] = []
    try:
        document = pypdfium2.PdfDocument(source)
        try:
            for index in range(min(MAX_PAGES, len(document))):
                page = document[index]
                width, height = page.get_size()
                scale = min(200 / 72, MAX_SIDE / max(width, height, 1))
                if width * height * scale * scale > max_pixels:
                    scale = (max_pixels / (width * height)) ** 0.5
                drawn = page.render(scale=scale, grayscale=True).to_pil()
                pages.append(_prepared(drawn))
                if not codes:
                    buffer = io.BytesIO()
                    drawn.save(buffer, "PNG")
                    codes = qr.decode_photos([buffer.getvalue()], max_pixels=max_pixels)
        finally:
            document.close()
    except pypdfium2.PdfiumError as error:
        raise CorruptFile("This PDF's pages cannot be drawn.") from error
    text, confidence = _ocr(where, pages)
    return Text(text, confidence, codes)


def _prepared(image: Any) -> Any:
    from PIL import Image

    grey = image.convert("L")
    if max(grey.size) > MAX_SIDE:
        grey.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    return grey


def _ocr(tessdata: str, pages: list[Any]) -> tuple[str, float]:
    api = _engine(tessdata)
    texts, confidences = [], []
    for page in pages:
        try:
            api.SetImage(page)
            texts.append(api.GetUTF8Text())
            confidences.append(max(0, api.MeanTextConf()) / 100)
        except RuntimeError as error:
            raise CorruptFile("Tesseract could not read this paper.") from error
        finally:
            api.Clear()
    confidence = sum(confidences) / len(confidences) if confidences else 0.0
    return "\n".join(texts).strip(), round(confidence, 2)
