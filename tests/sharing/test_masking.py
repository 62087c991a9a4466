"""The masked copy itself, made in this process (the API tests make it through the sandbox):
the masked pixels are destroyed, the rest is the paper's; and the rules of a mask."""

import io
import json
import uuid

import pikepdf
import pypdfium2
import pytest
from PIL import Image

from tests.support import files
from tests.support.masks import (
    assert_flat_inside,
    assert_masked_jpeg,
    assert_masked_png,
    card,
    decoded,
)
from vault.documents.intake import images
from vault.documents.intake.sniff import Kind
from vault.kit.errors import InvalidInput
from vault.sharing import masking, masks
from vault.sharing.masks import Mask, Paper

PIXELS = 64_000_000
PHOTO = {"x": 0.02, "y": 0.28, "w": 0.27, "h": 0.52}
QR = {"x": 0.75, "y": 0.02, "w": 0.23, "h": 0.37}
# Edges that fall between pixels and off the 8-pixel grid.
ODD = {"x": 0.3333, "y": 0.5011, "w": 0.1237, "h": 0.0999}


def stored(data: bytes, kind: Kind) -> bytes:
    """The photo as the vault keeps it (upright, re-encoded, without metadata)."""
    return images.normalise(data, kind, max_pixels=PIXELS, max_pages=20).pages[0].data


def by_page(boxes: list[dict[str, float]], page: int = 1) -> dict[int, list]:
    return {page: [(b["x"], b["y"], b["w"], b["h"]) for b in boxes]}


def apply(data: bytes, kind: str, boxes: dict, **options: object) -> tuple[bytes, str]:
    return masking.apply(data, kind, boxes, max_pixels=PIXELS, max_pages=20, **options)  # type: ignore[arg-type]


def test_a_masked_jpeg_is_black_inside_and_the_photo_outside() -> None:
    original = stored(card(), Kind.JPEG)
    boxes = [PHOTO, QR, ODD]
    copy, kind = apply(original, "image/jpeg", by_page(boxes))
    assert kind == "image/jpeg" and copy[:3] == b"\xff\xd8\xff"
    assert_masked_jpeg(original, copy, boxes)


def test_a_masked_png_is_the_original_but_for_exactly_the_masked_pixels() -> None:
    original = stored(card(kind="PNG"), Kind.PNG)
    boxes = [PHOTO, ODD, {"x": 0.0, "y": 0.0, "w": 1.0, "h": 0.001}]
    copy, kind = apply(original, "image/png", by_page(boxes))
    assert kind == "image/png" and copy.startswith(b"\x89PNG")
    assert_masked_png(original, copy, boxes)


def test_a_grey_scan_keeps_its_mode() -> None:
    buffer = io.BytesIO()
    Image.open(io.BytesIO(card(kind="PNG"))).convert("L").save(buffer, "PNG")
    original = stored(buffer.getvalue(), Kind.PNG)
    copy, _ = apply(original, "image/png", by_page([ODD]))
    with Image.open(io.BytesIO(copy)) as image:
        assert image.mode == "L"
    assert_masked_png(original, copy, [ODD])


def test_stamped_and_screen_copies_are_masked_over_the_stamp() -> None:
    original = stored(card(), Kind.JPEG)
    lines = ["CHỈ DÙNG ĐỂ: thử", "UBND · 01/01/2026"]
    stamped, kind = apply(original, "image/jpeg", by_page([PHOTO, ODD]), stamp=lines)
    assert kind == "image/jpeg"
    assert_flat_inside(decoded(stamped), [PHOTO, ODD])
    screen, _ = apply(original, "image/jpeg", by_page([PHOTO, ODD]), stamp=lines, page=1)
    shown = decoded(screen)
    assert max(shown.size) <= 1000
    assert_flat_inside(shown, [PHOTO, ODD])


def test_a_masked_pdf_is_pages_of_pixels_only() -> None:
    original = files.pdf(pages=3)
    boxes = {2: [(0.1, 0.1, 0.5, 0.1)], 3: [(0.0, 0.0, 1.0, 1.0)]}
    copy, kind = apply(original, "application/pdf", boxes)
    assert kind == "application/pdf"
    assert files.MARKER not in copy
    rendered = pypdfium2.PdfDocument(copy)
    try:
        assert len(rendered) == 3
        assert all(rendered[i].get_textpage().get_text_range() == "" for i in range(3))
    finally:
        rendered.close()
    pages = _page_images(copy)
    assert len(pages) == 3 and all(p.size == pages[0].size for p in pages)
    width, height = pages[0].size
    assert width >= 595 * 150 // 72 - 1  # rendered at 150 dpi
    assert_flat_inside(pages[1], [{"x": 0.1, "y": 0.1, "w": 0.5, "h": 0.1}])
    assert pages[2].getextrema() == ((0, 0), (0, 0), (0, 0))
    # The unmasked page is the page: the line of text is there, in pixels.
    original_page = _rendered(original, 0, width)
    difference = [abs(a - b) for a, b in zip(_grey(pages[0]), _grey(original_page), strict=True)]
    assert sum(difference) / len(difference) < 2


def test_a_pdf_page_preview_is_masked() -> None:
    copy, kind = apply(
        files.pdf(pages=2), "application/pdf", by_page([PHOTO], page=2), stamp=["x"], page=2
    )
    assert kind == "image/jpeg"
    assert_flat_inside(decoded(copy), [PHOTO])


def test_a_pdf_longer_than_the_masking_limit_is_refused_not_sent_half_masked() -> None:
    with pytest.raises(InvalidInput):
        masking.apply(
            files.pdf(pages=3),
            "application/pdf",
            {1: [PHOTO.values()]},
            max_pixels=PIXELS,
            max_pages=2,
        )


def _page_images(pdf: bytes) -> list[Image.Image]:
    found = []
    with pikepdf.open(io.BytesIO(pdf)) as document:
        for page in document.pages:
            (image,) = page.get_images().values()
            assert image.Filter == pikepdf.Name.DCTDecode  # an image, as the PDF holds it
            found.append(decoded(image.read_raw_bytes()))
    return found


def _rendered(pdf: bytes, index: int, width: int) -> Image.Image:
    document = pypdfium2.PdfDocument(pdf)
    try:
        page = document[index]
        picture = page.render(scale=width / page.get_width()).to_pil().convert("RGB")
        return picture  # type: ignore[no-any-return]
    finally:
        document.close()


def _grey(image: Image.Image) -> list[int]:
    return list(image.convert("L").get_flattened_data())


# The rules.

PAPER = uuid.uuid4()
PAPERS = {PAPER: Paper(pages=2, content_type="application/pdf", size=1000)}


@pytest.mark.parametrize(
    ("mask", "says"),
    [
        (Mask(0, 0.1, 0.1, 0.1, 0.1), "Page 0 is not in this paper"),
        (Mask(3, 0.1, 0.1, 0.1, 0.1), "Page 3 is not in this paper"),
        (Mask(1, -0.1, 0.1, 0.1, 0.1), "fractions of the page"),
        (Mask(1, 0.1, 0.1, 1.5, 0.1), "fractions of the page"),
        (Mask(1, float("nan"), 0.1, 0.1, 0.1), "fractions of the page"),
        (Mask(1, 0.1, 0.1, 0.0, 0.1), "above 0"),
        (Mask(1, 0.6, 0.1, 0.5, 0.1), "within its page"),
        (Mask(1, 0.1, 0.9, 0.1, 0.2), "within its page"),
    ],
)
def test_a_mask_off_the_page_is_refused(mask: Mask, says: str) -> None:
    with pytest.raises(InvalidInput, match=says) as refused:
        masks.check({PAPER: [mask]}, PAPERS, max_bytes=10_000)
    assert refused.value.field == "masks"


def test_the_rules_of_a_paper_s_masks() -> None:
    edge = Mask(2, 0.7, 0.0, 0.3, 1.0)  # 0.7 + 0.3 is a rounding above 1 in floating point
    assert masks.check({PAPER: [edge]}, PAPERS, max_bytes=10_000) == {PAPER: [edge]}
    assert masks.check({PAPER: []}, PAPERS, max_bytes=10_000) == {}
    one = Mask(1, 0.1, 0.1, 0.1, 0.1)
    with pytest.raises(InvalidInput, match="at most 32 masks"):
        masks.check({PAPER: [one] * 33}, PAPERS, max_bytes=10_000)
    with pytest.raises(InvalidInput, match="not in this share"):
        masks.check({uuid.uuid4(): [one]}, PAPERS, max_bytes=10_000)
    with pytest.raises(InvalidInput, match="too large"):
        masks.check({PAPER: [one]}, PAPERS, max_bytes=999)
    long = {PAPER: Paper(pages=21, content_type="application/pdf", size=1000)}
    with pytest.raises(InvalidInput, match="at most 20 pages"):
        masks.check({PAPER: [one]}, long, max_bytes=10_000)


def test_masks_from_a_page_s_form() -> None:
    paper = str(PAPER)
    sent = {paper: [{"page": 1, "x": 0, "y": 0.5, "w": 0.25, "h": 0.5}]}
    assert masks.from_json(json.dumps(sent)) == {PAPER: [Mask(1, 0.0, 0.5, 0.25, 0.5)]}
    assert masks.from_json("") == {}
    bad = [[], {"x": []}, {paper: [{"page": "1"}]}, {paper: [1]}]
    bad += [{paper: [{"page": True, "x": 0, "y": 0, "w": 1, "h": 1}]}]
    bad += [{paper: [{"page": 1, "x": 10**400, "y": 0, "w": 1, "h": 1}]}]
    for text in ["{", *map(json.dumps, bad)]:
        with pytest.raises(InvalidInput, match="page, x, y, w, h"):
            masks.from_json(text)
