"""The reading's rules without a server: the căn cước's age rule, the QR layouts, the type
suggested from a paper's words, and the folding search uses."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from types import SimpleNamespace
from typing import Any

import pytest
from PIL import Image

from tests.support import cards
from vault.documents.intake import images
from vault.documents.intake.sniff import Kind
from vault.documents.recognition import cccd, codes_on, qr, suggest
from vault.documents.recognition.words import fold, matches_all, words


@pytest.mark.parametrize(
    ("born", "issued", "expires"),
    [
        (date(1990, 1, 1), date(2021, 6, 15), date(2030, 1, 1)),  # the example
        (date(2000, 5, 10), date(2010, 5, 9), date(2014, 5, 10)),  # aged 9: to 14
        (date(2000, 5, 10), date(2012, 6, 1), date(2025, 5, 10)),  # aged 12, within 2 years of 14
        (date(1999, 3, 1), date(2022, 3, 1), date(2039, 3, 1)),  # aged 23, within 2 of 25
        (date(1999, 3, 1), date(2021, 2, 28), date(2024, 3, 1)),  # aged 21: to 25
        (date(1966, 7, 1), date(2023, 7, 1), date(2026, 7, 1)),  # issued at 57: to 60 …
        (date(1965, 7, 1), date(2023, 7, 1), None),  # … and at 58, for life
        (date(1992, 2, 29), date(2010, 1, 1), date(2017, 3, 1)),  # a leap-day birthday
    ],
)
def test_the_age_rule(born: date, issued: date, expires: date | None) -> None:
    assert cccd.expires_on(born, issued) == expires


PIXELS = 64_000_000
FAR = (3000, 2250)  # a 0.65 share: the card is 0.39 of the photo's width


def normalised(
    photo: bytes, codes_in: Callable[[Image.Image], list[str]] | None = qr.codes_in
) -> images.Page:
    return images.normalise(
        photo, Kind.JPEG, max_pixels=PIXELS, max_pages=1, codes_in=codes_in
    ).pages[0]


def test_a_card_is_read_on_the_pixels_its_normalisation_decoded() -> None:
    payload = cards.qr_payload("048090001234")
    page = normalised(cards.card_photo(payload, angle=13, blur=1.5))
    assert page.codes == (payload,)
    assert normalised(cards.card_photo(payload), codes_in=None).codes is None
    paper = cards.printed_paper("GIẤY KHAI SINH", ["Số: 1"], kind="JPEG")
    assert normalised(paper).codes == ()


def test_a_finder_pattern_located_on_the_small_copy_is_read_at_full_size(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    payload = cards.qr_payload("048090001234")
    photo = cards.card_far_off(payload, frame=FAR, card_share=0.65, angle=13, blur=1.5)
    assert normalised(photo).codes == (payload,)
    monkeypatch.setattr(qr, "_LOCATED", 0)  # the 1,000 px copy alone does not read it
    assert normalised(photo).codes == ()


def test_a_code_too_small_for_the_upload_is_left_to_the_jobs_larger_copies() -> None:
    payload = cards.qr_payload("048090001234")
    photo = cards.card_far_off(payload, frame=FAR, card_share=0.65, angle=13, blur=2.0)
    page = normalised(photo)
    assert page.codes == ()
    assert qr.decode_photos([page.data], max_pixels=PIXELS) == [payload]  # at 2,000 px


def test_a_phones_12_mp_photo_is_looked_at_near_1000_px(monkeypatch: pytest.MonkeyPatch) -> None:
    sizes = []

    def looked_at(zxingcpp: Any, image: Image.Image) -> list[Any]:
        sizes.append(image.size)
        return []

    monkeypatch.setattr(qr, "_read", looked_at)
    qr.codes_in(Image.new("RGB", (4032, 3024)))
    qr.codes_in(Image.new("L", (900, 1200)))
    assert sizes == [(1008, 756), (900, 1200)]


def _broken(image: object) -> list[str]:
    raise RuntimeError("the decoder gave up")


def test_a_decoder_that_fails_never_refuses_the_photo(caplog: pytest.LogCaptureFixture) -> None:
    page = normalised(cards.card_photo(cards.qr_payload("048090001234")), codes_in=_broken)
    assert page.content_type == "image/jpeg" and page.codes is None
    on = SimpleNamespace(reading=SimpleNamespace(enabled=True))
    with caplog.at_level(logging.WARNING):
        assert codes_on(on, [page]) == []  # type: ignore[arg-type]
    assert "left to OCR" in caplog.text


def test_the_codes_of_the_first_photo_that_has_one() -> None:
    photos = [images.Page(b"", "image/jpeg", ()), images.Page(b"", "image/jpeg", ("a", "b"))]
    on = SimpleNamespace(reading=SimpleNamespace(enabled=True))
    off = SimpleNamespace(reading=SimpleNamespace(enabled=False))
    assert codes_on(on, photos) == ["a", "b"]  # type: ignore[arg-type]
    assert codes_on(off, photos) == []  # type: ignore[arg-type]
    assert codes_on(on, [images.Page(b"", "image/jpeg", ())] * 4 + photos[1:]) == []  # type: ignore[arg-type]


def test_a_number_fits_its_birth_year_and_sex() -> None:
    assert cccd.number_fits("048090001234", date(1990, 1, 1), "Nam")
    assert cccd.number_fits("048190001234", date(1990, 1, 1), "Nữ")
    assert not cccd.number_fits("048190001234", date(1990, 1, 1), "Nam")
    assert cccd.number_fits("001305001234", date(2005, 8, 8))
    assert not cccd.number_fits("001305001234", date(1905, 8, 8))


def test_the_chip_card_layout() -> None:
    found = qr.parse([cards.qr_payload("048090001234")])
    assert found is not None and found.doc_type == "CCCD"
    assert found.fields["number"] == "048090001234"
    assert found.fields["date_of_birth"] == "1990-01-01"
    assert found.fields["issued_on"] == "2021-06-15"
    assert found.fields["address"] == "12 Lê Lợi, Hải Châu, Đà Nẵng"


def test_a_card_without_an_old_number_and_a_later_printing_with_more_fields() -> None:
    plain = "001305001234||Lê Thị Mai|08082005|Nữ|Hà Nội|01072024"
    assert qr.parse([plain]) is not None
    longer = qr.parse([plain + "|Hà Nội|01072039"])
    assert longer is not None and longer.fields["full_name"] == "Lê Thị Mai"


@pytest.mark.parametrize(
    "text",
    [
        "https://example.org/",
        "048090001234|201234567|An|31021990|Nam|Đà Nẵng|15062021",  # no 31 February
        "04809000123|201234567|An|01011990|Nam|Đà Nẵng|15062021",  # 11 digits
        "048090001234|201234567|An|01011990|Khác|Đà Nẵng|15062021",
    ],
)
def test_what_is_not_a_layout_is_not_read(text: str) -> None:
    assert qr.parse([text]) is None


def test_a_result_of_a_procedure_is_typed_from_the_paper_it_names() -> None:
    found = qr.parse(["000.00.15.H17-250101-0001|1.001193|048090001234|Giấy khai sinh"])
    assert found is not None and found.layout == "tt01-2023"
    assert suggest.type_of([found.paper_name or ""])[0] == "GKS"


@pytest.mark.parametrize(
    ("heading", "code"),
    [
        ("GIẤY KHAI SINH", "GKS"),
        ("GIẤY CHỨNG NHẬN QUYỀN SỬ DỤNG ĐẤT, QUYỀN SỞ HỮU TÀI SẢN GẮN LIỀN VỚI ĐẤT", "GCNQSDD"),
        ("BẰNG TỐT NGHIỆP TRUNG HỌC PHỔ THÔNG", "BTN_THPT"),
        ("GIẤY CHỨNG NHẬN KẾT HÔN", "GCNKH"),
        ("PHIẾU LÝ LỊCH TƯ PHÁP SỐ 1", "LLTP"),
        ("GIAY KHAl SlNH", "GKS"),  # misread by OCR
    ],
)
def test_the_heading_suggests_the_type(heading: str, code: str) -> None:
    text = f"CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc\n{heading}\n"
    assert suggest.suggest(text, 0.9).doc_type == code


def test_a_capitalised_heading_beats_a_paper_named_in_the_text() -> None:
    text = "GIẤY CHỨNG NHẬN KẾT HÔN\nTheo giấy khai sinh số 12, ngày 1 tháng 2 năm 1990\n"
    assert suggest.suggest(text, 0.9).doc_type == "GCNKH"


def test_fields_behind_their_labels() -> None:
    text = (
        "GIẤY KHAI SINH\nSố: 123/2001\nHọ, chữ đệm, tên: NGUYỄN VĂN AN\n"
        "Ngày, tháng, năm sinh: 01/01/1990\nHải Châu, ngày 15 tháng 6 năm 2001\n"
    )
    found = suggest.suggest(text, 0.9)
    assert found.fields == {
        "number": "123/2001",
        "full_name": "NGUYỄN VĂN AN",
        "date_of_birth": "1990-01-01",
        "issued_on": "2001-06-15",
        "expires_on": None,
        "address": None,
    }


def test_a_paper_that_expires_gets_its_catalog_validity() -> None:
    text = "XÁC NHẬN THÔNG TIN VỀ CƯ TRÚ\nSố: 45/XN\nNgày cấp: 10/02/2026\n"
    found = suggest.suggest(text, 0.9)
    assert (found.doc_type, found.fields["expires_on"]) == ("XNCT", "2027-02-10")


def test_text_with_no_heading_suggests_nothing() -> None:
    assert suggest.suggest("Một tờ giấy viết tay\nkhông có tiêu đề", 0.9).doc_type is None


def test_folding() -> None:
    assert fold("Giấy Khai Sinh ĐỨC") == "giay khai sinh duc"
    assert words("Số: 123/2001") == ["so", "123", "2001"]
    assert matches_all(words("giay khai"), "Giấy khai sinh")
    assert not matches_all(words("giay ket hon"), "Giấy khai sinh")


@pytest.mark.parametrize(
    "printed",
    ["Ngày cấp: 01/01/9999", "Ngày cấp: 31/12/1899", "Hà Nội, ngày 1 tháng 1 năm 9995"],
)
def test_a_date_no_paper_bears_is_no_reading_and_never_a_hang(printed: str) -> None:
    """Year 9999 plus a passport's ten years is past what `date` holds: it looped for ever,
    holding SQLite's write lock in the reading job."""
    found = suggest.suggest(f"HỘ CHIẾU\nSố hộ chiếu: C1234567\n{printed}", 0.9)
    assert found.doc_type == "HC"
    assert found.fields.get("issued_on") is None and found.fields.get("expires_on") is None


def test_a_qr_code_with_a_birth_year_no_one_has_is_not_read_as_one() -> None:
    assert qr._ddmmyyyy("01019990") is None and qr._ddmmyyyy("01011989") == "1989-01-01"
