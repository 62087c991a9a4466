"""Papers with something to read: a căn cước-like card photographed on a table (its QR code
made with segno, the photo rotated and slightly blurred) and printed papers with a heading in
Vietnamese (DejaVu, which has every Vietnamese letter)."""

from __future__ import annotations

import io
from datetime import date
from importlib import resources

import segno
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from vault.accounts import national_id

CARD_MM = (85.6, 53.98)  # ID-1, the size of every căn cước


def font(size: int) -> ImageFont.FreeTypeFont:
    path = resources.files("vault.data").joinpath("fonts/DejaVuSans-Bold.ttf")
    return ImageFont.truetype(str(path), size)


def qr_payload(
    number: str,
    *,
    full_name: str = "Nguyễn Văn An",
    born: date | None = None,
    sex: str | None = None,
    address: str = "12 Lê Lợi, Hải Châu, Đà Nẵng",
    issued: date = date(2021, 6, 15),
    old_number: str = "201234567",
) -> str:
    """The chip card's QR code: số định danh|số CMND cũ|họ tên|ngày sinh|giới tính|nơi cư
    trú|ngày cấp, the birth date and sex by default those the number encodes."""
    born = born or date(national_id.birth_year(number), 1, 1)
    sex = sex or ("Nữ" if int(number[3]) % 2 else "Nam")
    return "|".join(
        [
            number,
            old_number,
            full_name,
            born.strftime("%d%m%Y"),
            sex,
            address,
            issued.strftime("%d%m%Y"),
        ]
    )


def card_photo(
    payload: str,
    *,
    size: tuple[int, int] = (2400, 1800),
    angle: float = 11.0,
    blur: float = 1.2,
    quality: int = 88,
    grain: float = 0.0,
) -> bytes:
    """A phone photo of the card's front: the card fills about 60 % of the width, turned by
    `angle` degrees on a grey table, then blurred by `blur` pixels, with `grain` of noise."""
    width = int(size[0] * 0.6)
    height = int(width * CARD_MM[1] / CARD_MM[0])
    card = Image.new("RGB", (width, height), (236, 232, 214))
    draw = ImageDraw.Draw(card)
    unit = width / 85.6
    draw.rectangle((0, 0, width, int(9 * unit)), fill=(196, 40, 40))
    draw.text((int(4 * unit), int(2 * unit)), "CĂN CƯỚC CÔNG DÂN", font=font(int(4 * unit)))
    draw.text(
        (int(26 * unit), int(14 * unit)),
        "Số / No.: " + payload.split("|")[0],
        font=font(int(3 * unit)),
        fill="black",
    )
    draw.text(
        (int(26 * unit), int(20 * unit)),
        "Họ và tên: " + payload.split("|")[2].upper(),
        font=font(int(2.6 * unit)),
        fill="black",
    )
    draw.rectangle((int(4 * unit), int(13 * unit), int(22 * unit), int(37 * unit)), fill="grey")
    code = segno.make(payload, error="m")
    buffer = io.BytesIO()
    code.save(buffer, kind="png", scale=1, border=2)
    module_side = int(16 * unit)
    picture = Image.open(buffer).convert("RGB").resize((module_side, module_side), Image.NEAREST)
    card.paste(picture, (width - module_side - int(3 * unit), int(11 * unit)))
    table = Image.new("RGB", size, (120, 118, 112))
    turned = card.rotate(angle, expand=True, resample=Image.BICUBIC, fillcolor=(120, 118, 112))
    table.paste(turned, ((size[0] - turned.width) // 2, (size[1] - turned.height) // 2))
    photo = table.filter(ImageFilter.GaussianBlur(blur))
    if grain:  # a camera's sensor noise: a real 12 MP photo is megabytes, not a flat picture
        noise = Image.effect_noise(size, 64).convert("RGB")
        photo = Image.blend(photo, noise, grain)
    out = io.BytesIO()
    photo.save(out, "JPEG", quality=quality)
    return out.getvalue()


def card_far_off(
    payload: str, *, frame: tuple[int, int], card_share: float, angle: float, blur: float
) -> bytes:
    """A photo of the card taken from further away: `card_photo` of `card_share` of the
    frame's size in the middle of a `frame` of the same table, the card `0.6 * card_share` of
    its width."""
    inner = (int(frame[0] * card_share), int(frame[1] * card_share))
    near = Image.open(io.BytesIO(card_photo(payload, size=inner, angle=angle, blur=blur)))
    table = Image.new("RGB", frame, (120, 118, 112))
    table.paste(near, ((frame[0] - inner[0]) // 2, (frame[1] - inner[1]) // 2))
    out = io.BytesIO()
    table.save(out, "JPEG", quality=90)
    return out.getvalue()


def printed_paper(
    heading: str,
    lines: list[str],
    *,
    size: tuple[int, int] = (1654, 2339),
    kind: str = "PNG",
) -> bytes:
    """A scanned A4 page at 200 dpi: the national motto, the heading in capitals, the lines."""
    page = Image.new("L", size, 255)
    draw = ImageDraw.Draw(page)
    draw.text((330, 120), "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", font=font(40), fill=0)
    draw.text((520, 180), "Độc lập - Tự do - Hạnh phúc", font=font(36), fill=0)
    heading_font = font(64)
    left = (size[0] - draw.textlength(heading, font=heading_font)) // 2
    draw.text((left, 320), heading, font=heading_font, fill=0)
    for index, line in enumerate(lines):
        draw.text((160, 480 + 80 * index), line, font=font(38), fill=0)
    out = io.BytesIO()
    page.save(out, kind)
    return out.getvalue()
