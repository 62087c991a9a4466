"""The digital form of the line people write across a photocopy — "chỉ dùng để …": a copy of
the paper stamped across with the agency, the purpose and the date. Runs in the sandbox."""

from __future__ import annotations

import io
import math
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from vault.documents.intake.images import Page, bind_pages

MAX_PAGES = 20
_DPI = 110
# A page shown on the counter's screen is not counted as a use, so it is screen-sized: enough
# to check the paper, well short of the copy a download gives.
PREVIEW_LONG_SIDE = 1000


def lines(*, purpose: str, agency: str, day: date) -> list[str]:
    return [f"CHỈ DÙNG ĐỂ: {purpose}", f"{agency} · {day:%d/%m/%Y}"]


@cache
def _font_bytes() -> bytes:
    return resources.files("vault.data").joinpath("fonts/DejaVuSans-Bold.ttf").read_bytes()


def stamp(
    data: bytes, content_type: str, text: list[str], page: int | None = None
) -> tuple[bytes, str]:
    """The whole paper stamped (a JPEG for a photo, a PDF of stamped pages for a PDF), or with
    `page` just that page as a stamped JPEG, screen-sized, to show in a page."""
    if content_type != "application/pdf":
        with Image.open(io.BytesIO(data)) as image:
            picture = image.convert("RGB")
        if page is not None:
            picture = screen_sized(picture)
        return _jpeg(stamp_image(picture, text)), "image/jpeg"
    import pypdfium2

    document = pypdfium2.PdfDocument(data)
    try:
        if page is not None:
            index = min(max(page, 1), len(document)) - 1
            shown = screen_sized(_render(document, index))
            return _jpeg(stamp_image(shown, text)), "image/jpeg"
        pages = [
            Page(_jpeg(stamp_image(_render(document, index), text)), "image/jpeg")
            for index in range(min(len(document), MAX_PAGES))
        ]
    finally:
        document.close()
    return bind_pages(pages), "application/pdf"


def _render(document: Any, index: int) -> Image.Image:
    return document[index].render(scale=_DPI / 72).to_pil().convert("RGB")  # type: ignore[no-any-return]


def screen_sized(image: Image.Image) -> Image.Image:
    image.thumbnail((PREVIEW_LONG_SIDE, PREVIEW_LONG_SIDE), Image.Resampling.LANCZOS)
    return image


def _jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def stamp_image(image: Image.Image, text: list[str]) -> Image.Image:
    """Text tiled diagonally across the page: dark enough to read, light enough to see through."""
    width, height = image.size
    size = max(12, min(width, height) // 32)
    font = ImageFont.truetype(io.BytesIO(_font_bytes()), size)
    diagonal = int(math.hypot(width, height))
    layer = Image.new("RGBA", (diagonal, diagonal), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    row = "   ·   ".join(text)
    step = int(size * 4.5)
    for y in range(0, diagonal, step):
        offset = (y // step % 2) * size * 6
        draw.text((-offset, y), (row + "   ·   ") * 6, font=font, fill=(170, 0, 0, 125))
    layer = layer.rotate(math.degrees(math.atan2(height, width)), resample=Image.Resampling.BICUBIC)
    left, top = (diagonal - width) // 2, (diagonal - height) // 2
    overlay = layer.crop((left, top, left + width, top + height))
    return Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")
