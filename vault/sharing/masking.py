"""The masked copy an agency receives: the paper's pixels with every masked rectangle filled
with one flat black, re-encoded — never an overlay on the original. Runs in the sandbox.

- A photo stays in its stored format: PNG losslessly, so every pixel outside the masks is the
  original's; JPEG at quality 95 without chroma subsampling, so those pixels differ from the
  decoded original only by the re-encoding.
- A PDF is rasterised, every page of it (no text layer or hidden object survives), at
  `DPI`, and bound again as a PDF of images.
- Stamped (?watermark=1) or shown on the counter's screen, the stamp is drawn first and the
  masks over it: a masked area stays flat whatever the route.

JPEG codes the picture in 8×8 blocks; a block that is wholly one colour decodes to exactly that
colour, but one that is half black rings into the other half. So in a JPEG a mask is widened
to the 8-pixel grid (at most 7 pixels on each side) and coded as whole black blocks: the
masked pixels come out exactly flat, and a few pixels more than asked are hidden, never fewer.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

from PIL import Image, ImageDraw, UnidentifiedImageError

from vault.documents.intake.images import Page, bind_pages
from vault.kit.errors import CorruptFile, ImageBomb, InvalidInput
from vault.sharing import watermark

DPI = 150
# A page is rendered at DPI unless that would make it larger than this (a poster-sized page).
MAX_PAGE_PIXELS = 40_000_000
JPEG_BLOCK = 8
_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG"}

Boxes = Mapping[int, Sequence[tuple[float, float, float, float]]]


def apply(
    data: bytes,
    content_type: str,
    boxes: Boxes,
    stamp: list[str] | None = None,
    page: int | None = None,
    *,
    max_pixels: int,
    max_pages: int,
) -> tuple[bytes, str]:
    """The masked copy, stamped with `stamp` if given; with `page`, that page alone, stamped,
    screen-sized, as a JPEG for the counter's screen."""
    if content_type == "application/pdf":
        return _pdf(data, boxes, stamp, page, max_pages=max_pages)
    image = _decode(data, content_type, max_pixels)
    if page is not None or stamp is not None:
        picture = image.convert("RGB")
        if page is not None:
            picture = watermark.screen_sized(picture)
        if stamp is not None:
            picture = watermark.stamp_image(picture, stamp)
        return _jpeg(blacken(picture, boxes.get(1, ()), align=JPEG_BLOCK)), "image/jpeg"
    if content_type == "image/png":
        return _png(blacken(image, boxes.get(1, ()), align=1)), "image/png"
    return _jpeg(blacken(image, boxes.get(1, ()), align=JPEG_BLOCK)), "image/jpeg"


def page_image(data: bytes, page: int) -> bytes:
    """One page of a PDF, screen-sized, for the citizen to draw masks on."""
    import pypdfium2

    document = pypdfium2.PdfDocument(data)
    try:
        index = min(max(page, 1), len(document)) - 1
        return _jpeg(watermark.screen_sized(_render(document, index)))
    finally:
        document.close()


def blacken(
    image: Image.Image, boxes: Sequence[tuple[float, float, float, float]], *, align: int
) -> Image.Image:
    """Fills each box with black, covering every pixel the box touches, widened to a grid of
    `align` pixels."""
    draw = ImageDraw.Draw(image)
    for box in boxes:
        left, top, right, bottom = pixel_box(box, image.size, align=align)
        draw.rectangle((left, top, right - 1, bottom - 1), fill="black")
    return image


def pixel_box(
    box: tuple[float, float, float, float], size: tuple[int, int], *, align: int = 1
) -> tuple[int, int, int, int]:
    """(left, top, right, bottom), right and bottom excluded, of a box in fractions."""
    x, y, w, h = box
    width, height = size
    left, top = math.floor(x * width), math.floor(y * height)
    right, bottom = math.ceil((x + w) * width), math.ceil((y + h) * height)
    left, top = left - left % align, top - top % align
    right = min(width, -(-right // align) * align)
    bottom = min(height, -(-bottom // align) * align)
    return left, top, max(right, left + 1), max(bottom, top + 1)


def _decode(data: bytes, content_type: str, max_pixels: int) -> Image.Image:
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with Image.open(io.BytesIO(data), formats=[_FORMATS[content_type]]) as image:
            if image.width * image.height > max_pixels:
                raise ImageBomb(f"This image has more than {max_pixels:,} pixels.")
            image.load()
            return image.copy()
    except Image.DecompressionBombError:
        raise ImageBomb(f"This image has more than {max_pixels:,} pixels.") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as error:
        raise CorruptFile("This image is damaged and cannot be masked.") from error


def _pdf(
    data: bytes, boxes: Boxes, stamp: list[str] | None, page: int | None, *, max_pages: int
) -> tuple[bytes, str]:
    import pypdfium2

    document = pypdfium2.PdfDocument(data)
    try:
        count = len(document)
        if count > max_pages:
            # Refused when the grant was made; a paper must never be sent with pages unmasked.
            raise InvalidInput(f"Masks can be put on papers of at most {max_pages} pages.")
        if page is not None:
            index = min(max(page, 1), count) - 1
            shown = watermark.screen_sized(_render(document, index))
            return _jpeg(_finish(shown, stamp, boxes.get(index + 1, ()))), "image/jpeg"
        pages = [
            Page(_jpeg(_finish(_render(document, i), stamp, boxes.get(i + 1, ()))), "image/jpeg")
            for i in range(count)
        ]
    finally:
        document.close()
    return bind_pages(pages), "application/pdf"


def _finish(
    image: Image.Image,
    stamp: list[str] | None,
    boxes: Sequence[tuple[float, float, float, float]],
) -> Image.Image:
    if stamp is not None:
        image = watermark.stamp_image(image, stamp)
    return blacken(image, boxes, align=JPEG_BLOCK)


def _render(document: Any, index: int) -> Image.Image:
    page = document[index]
    width, height = page.get_size()
    scale = min(DPI / 72, math.sqrt(MAX_PAGE_PIXELS / max(width * height, 1.0)))
    return page.render(scale=scale).to_pil().convert("RGB")  # type: ignore[no-any-return]


def _jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    # No chroma subsampling: each 8×8 block is coded on its own, so whole black blocks stay
    # black and the blocks beside them are not tinted by them.
    image.save(buffer, "JPEG", quality=95, subsampling=0)
    return buffer.getvalue()


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=6)
    return buffer.getvalue()
