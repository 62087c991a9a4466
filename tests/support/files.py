"""Test papers made on the spot: photos with GPS and rotation, scans, PDFs benign and hostile."""

from __future__ import annotations

import io
import os
import struct
import zlib

import pikepdf
import pillow_heif
from PIL import Image, ImageDraw

pillow_heif.register_heif_opener()

MARKER = b"VAULT-PLAINTEXT-MARKER-7f3a9c"


def _picture(size: tuple[int, int] = (640, 400), colour: str = "navy") -> Image.Image:
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, size[0] // 2, size[1] // 3), fill=colour)  # a mark in the top-left corner
    return image


def jpeg_with_gps(*, orientation: int = 6, size: tuple[int, int] = (640, 400)) -> bytes:
    """A phone photo: EXIF with GPS and an Orientation tag, a comment and the marker in them."""
    image = _picture(size)
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "PhoneMaker"
    exif[0x9286] = MARKER.decode()  # UserComment
    gps = {1: "N", 2: (16.0, 4.0, 12.5), 3: "E", 4: (108.0, 13.0, 3.2)}
    exif[0x8825] = gps
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif, comment=MARKER)
    return buffer.getvalue()


def png(size: tuple[int, int] = (300, 200), colour: str = "darkgreen") -> bytes:
    buffer = io.BytesIO()
    _picture(size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def webp() -> bytes:
    buffer = io.BytesIO()
    _picture().save(buffer, "WEBP")
    return buffer.getvalue()


def heic() -> bytes:
    buffer = io.BytesIO()
    _picture().save(buffer, "HEIF")
    return buffer.getvalue()


def tiff_pages(pages: int = 2) -> bytes:
    frames = [_picture(colour=c) for c in ("black", "gray", "navy")[:pages]]
    buffer = io.BytesIO()
    frames[0].save(buffer, "TIFF", save_all=True, append_images=frames[1:])
    return buffer.getvalue()


def png_bomb(width: int = 30000, height: int = 30000) -> bytes:
    """A tiny file that claims a huge canvas: a header Pillow checks before decoding. Written
    by hand, one row of pixels behind it: drawing the whole canvas to compress it would take
    seconds of the test's time and none of the vault's."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    one_row = zlib.compress(b"\0" * (1 + (width + 7) // 8))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", one_row)
        + chunk(b"IEND", b"")
    )


def pdf(*, text: bytes = MARKER, pages: int = 1, padding: int = 0) -> bytes:
    """`padding`: that many random bytes in a stream after the pages, which no page draws."""
    document = pikepdf.new()
    for _ in range(pages):
        document.add_blank_page(page_size=(595, 842))
    for page in document.pages:
        page.Contents = document.make_stream(b"BT /F1 12 Tf 72 720 Td (" + text + b") Tj ET")
    if padding:
        document.Root.Padding = document.make_stream(os.urandom(padding))
    buffer = io.BytesIO()
    document.save(buffer, compress_streams=False)
    return buffer.getvalue()


def pdf_with_javascript() -> bytes:
    document = pikepdf.new()
    document.add_blank_page()
    document.Root.OpenAction = pikepdf.Dictionary(
        S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)")
    )
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def pdf_with_embedded_file() -> bytes:
    document = pikepdf.new()
    document.add_blank_page()
    spec = pikepdf.AttachedFileSpec(document, b"MZ payload", filename="tool.exe")
    document.attachments["tool.exe"] = spec
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def pdf_with_launch_annotation(*, indirect_name: bool = False) -> bytes:
    """`indirect_name`: the action's kind written as an indirect object (`/S 4 0 R`)."""
    document = pikepdf.new()
    document.add_blank_page()
    kind = document.make_indirect(pikepdf.Name.Launch) if indirect_name else pikepdf.Name.Launch
    action = pikepdf.Dictionary(S=kind, F=pikepdf.String("cmd.exe"))
    annotation = document.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Link, Rect=[0, 0, 100, 100], A=action
        )
    )
    document.pages[0].Annots = document.make_indirect(pikepdf.Array([annotation]))
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def encrypted_pdf() -> bytes:
    document = pikepdf.new()
    document.add_blank_page()
    buffer = io.BytesIO()
    document.save(buffer, encryption=pikepdf.Encryption(user="secret", owner="owner"))
    return buffer.getvalue()


def big_pdf_stream(size: int, chunk: int = 1 << 20) -> tuple[int, object]:
    """A valid one-page PDF of about `size` bytes, produced piece by piece: (length, iterator).

    The bulk is one incompressible stream object the page never draws, so the file parses
    quickly however large it is, and nothing holds it whole."""
    head = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
    objects = [
        b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n",
        b"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n",
        b"3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>\nendobj\n",
    ]
    payload = max(size - 600, 0)
    blob_head = f"4 0 obj\n<< /Length {payload} >>\nstream\n".encode()
    blob_tail = b"\nendstream\nendobj\n"
    offsets, position = [], len(head)
    for obj in objects:
        offsets.append(position)
        position += len(obj)
    offsets.append(position)
    position += len(blob_head) + payload + len(blob_tail)
    xref = b"xref\n0 5\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    trailer = b"trailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % position
    total = position + len(xref) + len(trailer)

    def pieces():
        yield head + b"".join(objects) + blob_head
        left = payload
        block = os.urandom(chunk)
        while left:
            take = min(left, chunk)
            yield block[:take]
            left -= take
        yield blob_tail + xref + trailer

    return total, pieces()


def scanned_page(*, width: int = 2480, height: int = 3508, quality: int = 80) -> bytes:
    """One page as a scanner makes it: a full A4 page at 300 dpi (by default) as a colour JPEG,
    paper grain (noise, so that it compresses like a real scan) under lines of dark "text"."""
    grain = Image.frombytes("L", (width, height), os.urandom(width * height))
    paper = Image.merge("RGB", [grain.point(lambda v, s=s: s + v // 11) for s in (220, 214, 206)])
    draw = ImageDraw.Draw(paper)
    for top in range(height // 12, height - height // 12, max(height // 40, 4)):
        draw.rectangle((width // 10, top, width * 9 // 10, top + height // 120), fill=(40, 40, 60))
    buffer = io.BytesIO()
    paper.save(buffer, "JPEG", quality=quality, dpi=(300, 300))
    return buffer.getvalue()


def scanned_pdf(*, min_pages: int = 1, min_bytes: int = 0, **page: int) -> bytes:
    """A scanned paper: one full-page JPEG per page, embedded as it is (DCTDecode, as scanners
    and img2pdf write them), at least `min_pages` pages and at least `min_bytes` long."""
    import img2pdf

    pages: list[bytes] = []
    while len(pages) < min_pages or sum(map(len, pages)) < min_bytes:
        pages.append(scanned_page(**page))
    return img2pdf.convert(pages)  # type: ignore[no-any-return]
