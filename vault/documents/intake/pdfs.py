"""PDFs are kept byte for byte, so that a digitally signed paper stays verifiable; what the
vault refuses is a PDF it cannot parse, cannot read (password) or that carries active content
(JavaScript, launch and submit actions, embedded files, multimedia) it would otherwise serve."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

import pikepdf
from pikepdf import Dictionary, Name
from PIL import Image

from vault.kit.errors import ActiveContent, CorruptFile, ImageBomb, InvalidInput

MAX_OBJECTS = 2_000_000
MAX_THUMBNAIL_SOURCE = 32 << 20
_ACTIONS = {
    "/JavaScript": "JavaScript",
    "/Launch": "launch actions",
    "/SubmitForm": "form submission to the Internet",
    "/ImportData": "data import actions",
    "/GoToE": "actions into embedded files",
    "/RichMediaExecute": "multimedia",
    "/Rendition": "multimedia",
}
_SUBTYPES = {
    "/FileAttachment": "embedded files",
    "/RichMedia": "multimedia",
    "/Movie": "multimedia",
    "/Sound": "multimedia",
    "/Screen": "multimedia",
}


@dataclass(frozen=True)
class PdfFacts:
    pages: int
    first_page: bytes | None  # a one-page copy for the thumbnail renderer, if small enough


def inspect(source: BinaryIO, *, max_pages: int) -> PdfFacts:
    try:
        with pikepdf.open(source) as pdf:
            pages = len(pdf.pages)
            if pages == 0:
                raise CorruptFile("This PDF has no pages.")
            if pages > max_pages:
                raise InvalidInput(
                    f"This PDF has {pages} pages; the vault takes at most {max_pages}."
                )
            found = active_content(pdf)
            if found:
                raise ActiveContent(
                    f"This PDF contains {', '.join(sorted(found))}, which the vault does not keep. "
                    "Print it to a new PDF or scan the paper instead."
                )
            return PdfFacts(pages=pages, first_page=_first_page(pdf))
    except pikepdf.PasswordError:
        raise InvalidInput("This PDF is locked with a password; upload an unlocked copy.") from None
    except pikepdf.PdfError as error:
        raise CorruptFile("This PDF is damaged and cannot be read.") from error


def active_content(pdf: pikepdf.Pdf) -> set[str]:
    found: set[str] = set()
    names = pdf.Root.get(Name.Names)
    if isinstance(names, Dictionary):
        if Name.JavaScript in names:
            found.add("JavaScript")
        if Name.EmbeddedFiles in names:
            found.add("embedded files")
    acroform = pdf.Root.get(Name.AcroForm)
    if isinstance(acroform, Dictionary) and Name.XFA in acroform:
        found.add("XFA forms")
    for count, obj in enumerate(pdf.objects):
        if count > MAX_OBJECTS:
            raise CorruptFile("This PDF has too many objects to be checked.")
        for dictionary in _dictionaries(obj):
            found |= _dictionary_findings(dictionary)
    return found


def _dictionaries(obj: pikepdf.Object, depth: int = 0) -> Iterator[Dictionary]:
    """A dictionary and the direct ones nested in it: an action is often written inline."""
    if depth > 64:
        raise CorruptFile("This PDF nests objects too deeply to be checked.")
    if isinstance(obj, pikepdf.Stream):
        obj = obj.stream_dict
    if isinstance(obj, Dictionary):
        yield obj
        children: Iterable[pikepdf.Object] = obj.values()
    elif isinstance(obj, pikepdf.Array):
        children = obj
    else:
        return
    for child in children:
        if isinstance(child, (Dictionary, pikepdf.Array)) and not child.is_indirect:
            yield from _dictionaries(child, depth + 1)


def _dictionary_findings(obj: Dictionary) -> set[str]:
    found = set()
    action = _name(obj.get(Name.S))
    if action in _ACTIONS:
        found.add(_ACTIONS[action])
    if Name.JS in obj:
        found.add("JavaScript")
    subtype = _name(obj.get(Name.Subtype))
    if subtype in _SUBTYPES:
        found.add(_SUBTYPES[subtype])
    kind = _name(obj.get(Name.Type))
    if kind == "/EmbeddedFile" or (kind == "/Filespec" and Name.EF in obj):
        found.add("embedded files")
    return found


def _name(value: object) -> str | None:
    """A name's text, whether written inline or as an indirect object (which pikepdf cannot hash,
    and which a hostile file uses to slip an action past a lookup)."""
    return str(value) if isinstance(value, Name) else None


def _first_page(pdf: pikepdf.Pdf) -> bytes | None:
    single = pikepdf.new()
    single.pages.append(pdf.pages[0])
    buffer = io.BytesIO()
    single.save(buffer)
    return buffer.getvalue() if buffer.tell() <= MAX_THUMBNAIL_SOURCE else None


def render_thumbnail(pdf: bytes) -> bytes:
    """First page as a small JPEG; runs in the sandbox, as it decodes whatever the page holds."""
    from vault.documents.intake.images import THUMBNAIL_SIZE, make_thumbnail

    image = _scanned_picture(pdf, THUMBNAIL_SIZE)
    return make_thumbnail(image if image is not None else _rendered(pdf, THUMBNAIL_SIZE))


def _rendered(pdf: bytes, size: int) -> Image.Image:
    import pypdfium2

    try:
        document = pypdfium2.PdfDocument(pdf)
        try:
            page = document[0]
            scale = size / max(page.get_size())
            image: Image.Image = page.render(scale=min(scale, 1.0)).to_pil()
        finally:
            document.close()
    except pypdfium2.PdfiumError as error:
        raise CorruptFile("This PDF's first page cannot be drawn.") from error
    return image


def _scanned_picture(pdf: bytes, size: int) -> Image.Image | None:
    """A page that is nothing but one JPEG drawn upright over the whole of it (a scan) looks
    like its picture, which JPEG can decode at an eighth of its size; rendering the page
    would decode all of it (about 80 ms for an A4 page at 300 dpi). Anything else: None."""
    try:
        with pikepdf.open(io.BytesIO(pdf)) as document:
            page = document.pages[0]
            name = _sole_picture(page)
            if name is None:
                return None
            picture = page.Resources.XObject[name]
            if not _plain_jpeg(picture):
                return None
            data = picture.read_raw_bytes()
        image = Image.open(io.BytesIO(data), formats=["JPEG"])
        image.draft("RGB", (size, size))
        image.load()
    except Image.DecompressionBombError:
        # Over the pixels this sandbox worker allows: the paper is kept, without a picture.
        raise ImageBomb("This scan's picture is too large to draw a thumbnail of.") from None
    except (pikepdf.PdfError, KeyError, AttributeError, TypeError, ValueError, OSError):
        return None
    return image


def _sole_picture(page: pikepdf.Page) -> Name | None:
    """The image a page's content draws, if all it does is scale it upright onto the page."""
    if int(page.obj.get(Name.Rotate, 0)) % 360:
        return None
    steps = [i for i in pikepdf.parse_content_stream(page) if str(i.operator) not in "qQ"]
    if [str(i.operator) for i in steps] != ["cm", "Do"]:
        return None
    a, b, c, d, e, f = (float(value) for value in steps[0].operands)
    x0, y0, x1, y1 = (float(value) for value in page.mediabox)
    covers = all(
        abs(got - want) <= 0.02 * (x1 - x0 + y1 - y0)
        for got, want in ((e, x0), (f, y0), (e + a, x1), (f + d, y1))
    )
    name = steps[1].operands[0]
    return name if b == c == 0 and covers and isinstance(name, Name) else None


def _plain_jpeg(picture: pikepdf.Object) -> bool:
    return (
        isinstance(picture, pikepdf.Stream)
        and picture.get(Name.Subtype) == Name.Image
        and picture.get(Name.Filter) in (Name.DCTDecode, pikepdf.Array([Name.DCTDecode]))
        and picture.get(Name.ColorSpace) in (Name.DeviceRGB, Name.DeviceGray)
        and not any(key in picture for key in (Name.Decode, Name.SMask, Name.Mask))
    )
