"""Photos and scans: decoded with a pixel limit, turned upright, re-encoded without any
metadata block (EXIF with GPS, XMP, comments, ICC), thumbnailed, and several pages bound
into one PDF. Runs inside the sandbox worker, never in the server process.

`normalise` can be handed a reader of codes (the reading's QR decoder) to run on each page's
decoded, upright pixels while it has them: the photo is decoded once, not again to be read."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, replace

import img2pdf
import pillow_heif
from PIL import Image, ImageCms, ImageOps, ImageSequence, UnidentifiedImageError

from vault.documents.intake.sniff import Kind
from vault.kit.errors import CorruptFile, ImageBomb, InvalidInput

pillow_heif.register_heif_opener()

THUMBNAIL_SIZE = 256
_FORMATS = {
    Kind.JPEG: "JPEG",
    Kind.PNG: "PNG",
    Kind.WEBP: "WEBP",
    Kind.TIFF: "TIFF",
    Kind.HEIF: "HEIF",
}
_LOSSLESS = {Kind.PNG, Kind.TIFF}
_A4 = (img2pdf.mm_to_pt(210), img2pdf.mm_to_pt(297))
_SRGB = ImageCms.createProfile("sRGB")


@dataclass(frozen=True)
class Page:
    data: bytes
    content_type: str
    # The codes a reader found on the page; None when none was asked to look, or it failed.
    codes: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Normalised:
    pages: list[Page]
    thumbnail: bytes


def normalise(
    data: bytes,
    kind: Kind,
    *,
    max_pixels: int,
    max_pages: int,
    codes_in: Callable[[Image.Image], list[str]] | None = None,
) -> Normalised:
    """`codes_in` looks at each page until one has a code; its failure never refuses a page."""
    Image.MAX_IMAGE_PIXELS = max_pixels
    pages: list[Page] = []
    thumbnail = b""
    found = False
    try:
        with Image.open(io.BytesIO(data), formats=[_FORMATS[kind]]) as image:
            frames = ImageSequence.Iterator(image) if kind is Kind.TIFF else [image]
            for frame in frames:
                if len(pages) == max_pages:
                    raise InvalidInput(f"A paper has at most {max_pages} pages.")
                if frame.width * frame.height > max_pixels:
                    raise ImageBomb(_too_many_pixels(frame.size, max_pixels))
                upright = _plain(ImageOps.exif_transpose(frame))
                if not thumbnail:
                    thumbnail = make_thumbnail(upright)
                page = _encode(upright, lossless=kind in _LOSSLESS)
                if codes_in is not None and not found:
                    page = replace(page, codes=_codes(codes_in, upright))
                    found = bool(page.codes)
                pages.append(page)
    except Image.DecompressionBombError:
        raise ImageBomb(f"This image has more than {max_pixels:,} pixels.") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as error:
        raise CorruptFile(f"This {kind.value} image is damaged or incomplete.") from error
    return Normalised(pages=pages, thumbnail=thumbnail)


def _codes(
    codes_in: Callable[[Image.Image], list[str]], image: Image.Image
) -> tuple[str, ...] | None:
    try:
        return tuple(codes_in(image))
    except Exception:  # noqa: BLE001 - a code that cannot be read never refuses the page
        return None


def _too_many_pixels(size: tuple[int, int], limit: int) -> str:
    return f"This image is {size[0]}×{size[1]} pixels; the vault takes at most {limit:,} pixels."


def _plain(image: Image.Image) -> Image.Image:
    """Colours in sRGB, no transparency, and an empty info dict: nothing but pixels survives."""
    icc = image.info.get("icc_profile")
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        image = image.convert("I").point(lambda value: value / 256).convert("L")
    elif image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, "white")
        background.paste(rgba, mask=rgba.getchannel("A"))
        image = background
    elif image.mode not in ("1", "L", "RGB"):
        image = image.convert("RGB")
    if icc and image.mode == "RGB":
        try:
            profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            image = ImageCms.profileToProfile(image, profile, _SRGB, outputMode="RGB") or image
        except (ImageCms.PyCMSError, OSError):
            pass
    image = image.copy() if image.info else image
    image.info = {}
    return image


def _encode(image: Image.Image, *, lossless: bool) -> Page:
    buffer = io.BytesIO()
    if lossless:
        image.save(buffer, "PNG", compress_level=6)
        return Page(buffer.getvalue(), "image/png")
    image.convert("RGB" if image.mode == "1" else image.mode).save(buffer, "JPEG", quality=90)
    return Page(buffer.getvalue(), "image/jpeg")


def make_thumbnail(image: Image.Image) -> bytes:
    small = image.convert("RGB")
    small.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def bind_pages(pages: list[Page]) -> bytes:
    """Pages into one PDF, each fitted into A4 in its own orientation; JPEGs are embedded as is."""
    layout = img2pdf.get_layout_fun(_A4, fit=img2pdf.FitMode.into, auto_orient=True)
    pdf: bytes = img2pdf.convert([page.data for page in pages], layout_fun=layout, nodate=True)
    return pdf
