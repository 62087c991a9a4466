"""A scanned page's thumbnail is drawn from its JPEG at a fraction of its size, and looks like
the page rendered; any other page is rendered."""

import io

import pikepdf
import pytest
from PIL import Image, ImageChops, ImageStat

from tests.support import files
from vault.documents.intake import pdfs
from vault.documents.intake.images import THUMBNAIL_SIZE, make_thumbnail
from vault.kit.errors import ImageBomb

SMALL_PAGE = {"width": 620, "height": 877}


def _first_page(pdf: bytes) -> bytes:
    facts = pdfs.inspect(io.BytesIO(pdf), max_pages=10)
    assert facts.first_page is not None
    return facts.first_page


def _changed(pdf: bytes, change) -> bytes:
    with pikepdf.open(io.BytesIO(pdf)) as document:
        change(document, document.pages[0])
        buffer = io.BytesIO()
        document.save(buffer)
    return buffer.getvalue()


def _marked_scan() -> bytes:
    """A one-page scan with a dark block in its top-left corner, so a flip would show."""
    import img2pdf

    image = Image.open(io.BytesIO(files.scanned_page(**SMALL_PAGE)))
    image.paste((0, 0, 0), (0, 0, 250, 300))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", dpi=(75, 75))  # an A4 page in points
    return img2pdf.convert([buffer.getvalue()])  # type: ignore[no-any-return]


def test_a_scanned_page_is_drawn_from_its_picture_and_looks_rendered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    page = _first_page(_marked_scan())
    rendered = Image.open(io.BytesIO(make_thumbnail(pdfs._rendered(page, THUMBNAIL_SIZE))))

    def no_rendering(*_: object) -> None:
        raise AssertionError("a scanned page is not rendered")

    monkeypatch.setattr(pdfs, "_rendered", no_rendering)
    drawn = Image.open(io.BytesIO(pdfs.render_thumbnail(page)))
    assert drawn.size == rendered.size
    coarse = [
        image.convert("L").resize((8, 11), Image.Resampling.BOX) for image in (drawn, rendered)
    ]
    assert ImageStat.Stat(ImageChops.difference(*coarse)).mean[0] < 8
    assert coarse[0].getpixel((0, 0)) < 64 < coarse[0].getpixel((7, 10))  # the mark, top left


def _rotated(document: pikepdf.Pdf, page: pikepdf.Page) -> None:
    page.obj.Rotate = 90


def _shrunk(document: pikepdf.Pdf, page: pikepdf.Page) -> None:
    page.Contents = document.make_stream(b"q 100 0 0 140 50 50 cm /Im0 Do Q")


def _overdrawn(document: pikepdf.Pdf, page: pikepdf.Page) -> None:
    page.Contents = document.make_stream(
        page.Contents.read_bytes() + b" 0 0 1 rg 10 10 100 100 re f"
    )


@pytest.mark.parametrize("change", [_rotated, _shrunk, _overdrawn], ids=lambda c: c.__name__)
def test_a_page_that_is_more_or_less_than_its_picture_is_rendered(change) -> None:
    page = _changed(_first_page(files.scanned_pdf(**SMALL_PAGE)), change)
    assert pdfs._scanned_picture(page, THUMBNAIL_SIZE) is None
    assert Image.open(io.BytesIO(pdfs.render_thumbnail(page))).size[0] > 0


def test_a_text_page_is_rendered() -> None:
    page = _first_page(files.pdf())
    assert pdfs._scanned_picture(page, THUMBNAIL_SIZE) is None
    assert Image.open(io.BytesIO(pdfs.render_thumbnail(page))).format == "JPEG"


def test_a_scan_whose_picture_claims_too_many_pixels_has_no_thumbnail_not_an_error() -> None:
    """A JPEG's header may claim 30000 × 30000 pixels: Pillow refuses it before decoding a
    byte, and the paper is then kept without a picture (the upload catches ImageBomb)."""
    small = io.BytesIO()
    Image.new("RGB", (16, 16), "white").save(small, "JPEG")
    data = bytearray(small.getvalue())
    start = data.index(b"\xff\xc0")
    data[start + 5 : start + 9] = (30000).to_bytes(2, "big") + (30000).to_bytes(2, "big")
    pdf = pikepdf.new()
    picture = pikepdf.Stream(pdf, bytes(data))
    picture.Type, picture.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
    picture.Width, picture.Height, picture.BitsPerComponent = 16, 16, 8
    picture.ColorSpace, picture.Filter = pikepdf.Name.DeviceRGB, pikepdf.Name.DCTDecode
    page = pdf.add_blank_page(page_size=(595, 842))
    page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=picture))
    page.Contents = pikepdf.Stream(pdf, b"q 595 0 0 842 0 0 cm /Im0 Do Q")
    out = io.BytesIO()
    pdf.save(out)
    with pytest.raises(ImageBomb):
        pdfs.render_thumbnail(_first_page(out.getvalue()))
