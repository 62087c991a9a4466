"""Checking a masked copy against the paper it was made from, pixel by pixel, with Pillow."""

from __future__ import annotations

import io
import math
import random

from PIL import Image, ImageChops, ImageDraw, ImageStat

# JPEG codes 8×8 blocks: the vault widens a mask in a JPEG to that grid (vault.sharing.masking).
JPEG_BLOCK = 8
# Re-encoding a decoded JPEG (quality 95, no chroma subsampling) moves a pixel outside the
# masks by a few levels, by more at a sharp edge: measured on these cards, at most 18 levels
# and 1.0 on average.
JPEG_MAX_DIFFERENCE = 40
JPEG_MEAN_DIFFERENCE = 2.0

Box = dict[str, float]


def card(size: tuple[int, int] = (1000, 630), *, kind: str = "JPEG", seed: int = 7) -> bytes:
    """A busy card-sized picture: hundreds of coloured blocks, so that every region has edges
    for the re-encoding to blur and a mask has something to hide."""
    picture = Image.new("RGB", size, (235, 240, 232))
    draw = ImageDraw.Draw(picture)
    chance = random.Random(seed)
    for _ in range(500):
        x, y = chance.randrange(size[0]), chance.randrange(size[1])
        colour = (chance.randrange(256), chance.randrange(256), chance.randrange(256))
        draw.rectangle((x, y, x + chance.randrange(80), y + chance.randrange(50)), fill=colour)
    buffer = io.BytesIO()
    picture.save(buffer, kind, **({"quality": 90} if kind == "JPEG" else {}))
    return buffer.getvalue()


def decoded(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB")


def pixel_box(box: Box, size: tuple[int, int], align: int = 1) -> tuple[int, int, int, int]:
    """Every pixel the box touches (right and bottom excluded), widened to a grid of `align`."""
    width, height = size
    left, top = math.floor(box["x"] * width), math.floor(box["y"] * height)
    right = math.ceil((box["x"] + box["w"]) * width)
    bottom = math.ceil((box["y"] + box["h"]) * height)
    left, top = left - left % align, top - top % align
    right = min(width, -(-right // align) * align)
    bottom = min(height, -(-bottom // align) * align)
    return left, top, right, bottom


def assert_flat_inside(copy: Image.Image, boxes: list[Box], align: int = 1) -> None:
    """Every pixel inside every mask is exactly black: no margin, no tolerance."""
    for box in boxes:
        region = copy.crop(pixel_box(box, copy.size, align))
        assert region.getextrema() == ((0, 0), (0, 0), (0, 0)), (box, region.getextrema())


def expected(original: Image.Image, boxes: list[Box], align: int = 1) -> Image.Image:
    picture = original.copy()
    draw = ImageDraw.Draw(picture)
    for box in boxes:
        left, top, right, bottom = pixel_box(box, picture.size, align)
        draw.rectangle((left, top, right - 1, bottom - 1), fill="black")
    return picture


def assert_masked_png(original: bytes, copy: bytes, boxes: list[Box]) -> None:
    """Lossless: the copy is the original with exactly the masks' pixels black."""
    before, after = decoded(original), decoded(copy)
    assert after.size == before.size
    assert_flat_inside(after, boxes)
    assert after.tobytes() == expected(before, boxes).tobytes()


def assert_masked_jpeg(original: bytes, copy: bytes, boxes: list[Box]) -> None:
    """Inside each mask exactly black. Outside, the decoded original within the re-encoding's
    tolerance — except between a mask and its 8-pixel grid (at most 7 pixels a side), which
    is black too: the copy hides a few pixels more than asked, never fewer."""
    before, after = decoded(original), decoded(copy)
    assert after.size == before.size
    assert_flat_inside(after, boxes)
    assert_flat_inside(after, boxes, JPEG_BLOCK)
    difference = ImageChops.difference(expected(before, boxes, JPEG_BLOCK), after)
    assert max(high for _, high in difference.getextrema()) <= JPEG_MAX_DIFFERENCE
    assert max(ImageStat.Stat(difference).mean) <= JPEG_MEAN_DIFFERENCE
