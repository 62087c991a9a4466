"""QR codes printed on papers, read by table.

Both readers run in the sandbox. `codes_in` reads an upload's photo during the upload, inside
the sandbox call that normalises it, on the pixels that call has already decoded: the whole
frame on a grey copy of about 1,000 px (reduced by a whole factor; a card filling most of the
photo is read there), and, where a code or one of its finder patterns is located there but
not read, the full-size pixels around it. That is all: a photo without a code costs a grey
copy and one small decode (about 20 ms for 12 MP), and a code too small to be located at
1,000 px is left to the OCR job. `decode_photos` is the job's: it decodes stored bytes, a
downscaled copy first (a JPEG straight at 1/4 or 1/8 scale) and larger copies only if nothing
was found, up to 3,000 px. `parse` runs in the server on the decoded text: each `Layout`
says how a kind of paper writes its fields, so another card or result paper is a row in
`LAYOUTS`, not new code.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from vault.kit import days

SIDES = (1000, 2000, 3000)  # the longer sides tried, each capped at the photo's own
MAX_PHOTOS = 4  # a căn cước is two photos; a paper's QR code is on its first pages
SIDE = 1000  # about the longer side of the copy `codes_in` looks at the whole frame on
_LOCATED = 3  # codes located but not read at SIDE that are looked at again at full size
_MARGIN = 0.25  # around a located code, of its size: the quiet zone and a misplaced corner
# Around a lone finder pattern (taken for a Micro QR code, which has one), of its size: a
# code's other two are up to 6 of its widths away (a version 10 code is 57 modules, 8 finders).
_FINDER_REACH = 8.0


def codes_in(image: Any) -> list[str]:
    """In the sandbox: the text of every QR code on a decoded image (a normalised photo)."""
    import zxingcpp
    from PIL import Image

    assert isinstance(image, Image.Image)
    grey = image if image.mode == "L" else image.convert("L")
    factor = max(1, round(max(grey.size) / SIDE))  # a phone's 4,032 px: 1,008, not 806
    small = grey.reduce(factor) if factor > 1 else grey
    found = _read(zxingcpp, small)
    texts = _texts(found)
    if texts or factor == 1:
        return texts
    for code in [code for code in found if not code.valid][:_LOCATED]:
        lone = code.format == zxingcpp.BarcodeFormat.MicroQRCode
        margin = _FINDER_REACH if lone else _MARGIN
        around = grey.crop(_around(code.position, factor, grey.size, margin))
        if max(around.size) > 2 * SIDE:  # no located code is that large: a misplaced corner
            continue
        texts = _texts(_read(zxingcpp, around)) or _texts(_read(zxingcpp, around.reduce(2)))
        if texts:
            return texts
    return []


def _read(zxingcpp: Any, image: Any) -> list[Any]:
    # A QR code is found in any orientation without the rotated pass, and a card's is never
    # printed light on dark; located codes that fail to decode are kept, for their position.
    found: list[Any] = zxingcpp.read_barcodes(
        image,
        formats=zxingcpp.BarcodeFormat.QRCode,
        try_rotate=False,
        try_invert=False,
        return_errors=True,
    )
    return found


def _texts(found: list[Any]) -> list[str]:
    return [code.text for code in found if code.valid and code.text]


def _around(
    position: Any, factor: int, size: tuple[int, int], margin: float
) -> tuple[int, int, int, int]:
    """The full-size box around what was located on a copy `factor` times smaller, `margin`
    times its size wider on every side."""
    corners = (position.top_left, position.top_right, position.bottom_right, position.bottom_left)
    xs, ys = [c.x * factor for c in corners], [c.y * factor for c in corners]
    margin = margin * max(max(xs) - min(xs), max(ys) - min(ys)) + 4 * factor
    return (
        max(0, int(min(xs) - margin)),
        max(0, int(min(ys) - margin)),
        min(size[0], int(max(xs) + margin) + 1),
        min(size[1], int(max(ys) + margin) + 1),
    )


def decode_photos(photos: list[bytes], *, max_pixels: int) -> list[str]:
    """In the sandbox: the text of every QR code found on the first photo that has one."""
    import zxingcpp
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = max_pixels
    for data in photos[:MAX_PHOTOS]:
        with Image.open(io.BytesIO(data)) as image:
            full = max(image.size)
        for side in sorted({min(side, full) for side in SIDES}):
            # Opened again for each size: `draft` shrinks the image it is called on for good.
            with Image.open(io.BytesIO(data)) as image:
                texts = _texts(_read(zxingcpp, _at_most(image, side)))
            if texts:
                return texts
    return []


def _at_most(image: object, side: int) -> object:
    from PIL import Image

    assert isinstance(image, Image.Image)
    if image.format == "JPEG" and max(image.size) > side:
        # Decodes the JPEG at 1/2, 1/4 or 1/8 scale straight from its DCT: far less work.
        scale = side / max(image.size)
        image.draft("L", (int(image.width * scale), int(image.height * scale)))
    grey = image.convert("L")
    if max(grey.size) > side:
        grey.thumbnail((side, side), Image.Resampling.BILINEAR)
    return grey


@dataclass(frozen=True)
class Found:
    """What a QR code said, in the reading's field names; `doc_type` None when the layout only
    names the paper (a procedure's result) and the type is suggested from that name."""

    layout: str
    doc_type: str | None
    fields: dict[str, str | None]
    paper_name: str | None = None


def _ddmmyyyy(value: str) -> str | None:
    try:
        found = datetime.strptime(value, "%d%m%Y").date()
    except ValueError:
        return None
    return found.isoformat() if days.plausible(found) else None


def _keep(value: str) -> str | None:
    return value.strip() or None


@dataclass(frozen=True)
class Field:
    name: str  # a reading field (number, full_name, …), or another name kept aside
    pattern: str  # the whole field must match
    convert: Callable[[str], str | None] = _keep
    required: bool = False  # a value that converts to nothing (31022021) refuses the layout


@dataclass(frozen=True)
class Layout:
    name: str
    doc_type: str | None
    fields: tuple[Field, ...]
    separator: str = "|"
    extra_fields: bool = False  # later fields a newer printing adds are tolerated
    names_paper: str | None = None  # the field naming the paper, when the type is not fixed

    def read(self, text: str) -> Found | None:
        values = text.strip().split(self.separator)
        if len(values) < len(self.fields) or (
            len(values) > len(self.fields) and not self.extra_fields
        ):
            return None
        out: dict[str, str | None] = {}
        for spec, raw in zip(self.fields, values, strict=False):
            raw = raw.strip()
            if not re.fullmatch(spec.pattern, raw):
                return None
            out[spec.name] = spec.convert(raw)
            if spec.required and out[spec.name] is None:
                return None
        name = out.get(self.names_paper) if self.names_paper else None
        return Found(self.name, self.doc_type, out, paper_name=name)


_DATE = r"[0-9]{8}"
_CCCD_FIELDS = (
    Field("number", r"[0-9]{12}"),
    Field("old_number", r"(?:[0-9]{9})?"),  # the CMND it replaced, if any
    Field("full_name", r"[^|]{2,100}"),
    Field("date_of_birth", _DATE, _ddmmyyyy, required=True),
    Field("sex", r"(?i:nam|nữ|nu)"),
    Field("address", r"[^|]{0,300}"),
    Field("issued_on", _DATE, _ddmmyyyy, required=True),
)

LAYOUTS: tuple[Layout, ...] = (
    # The chip CCCD (2021) and the căn cước (2024): số định danh|số CMND cũ|họ tên|ngày sinh
    # ddmmyyyy|giới tính|nơi cư trú|ngày cấp ddmmyyyy. The 2024 card's printing was not
    # checked against a real card here: later fields it may add are tolerated, not read.
    Layout("cccd", "CCCD", _CCCD_FIELDS, extra_fields=True),
    # A result printed under TT 01/2023/TT-VPCP: mã hồ sơ|mã thủ tục|số định danh chủ hồ
    # sơ|tên giấy tờ. The circular names the four data, not their order or separator: this
    # order is the vault's assumption, and the type comes from the paper's name.
    Layout(
        "tt01-2023",
        None,
        (
            Field("dossier_number", r"[0-9A-Za-z.\-/]{4,64}"),
            Field("procedure_code", r"[0-9]\.[0-9]{6}(?:\.[0-9A-Za-z.]+)?"),
            Field("owner_id", r"[0-9]{12}"),
            Field("paper_name", r"[^|]{2,200}"),
        ),
        names_paper="paper_name",
    ),
)


def parse(texts: list[str]) -> Found | None:
    for text in texts:
        for layout in LAYOUTS:
            found = layout.read(text)
            if found is not None:
                return found
    return None


def as_date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None
