"""What the words on a paper suggest: its type, from the headings the reference data names
(vault/data/document_types.json, plus the printed headings below), and the fields its layout
makes findable behind their printed labels. Runs in the server on text Tesseract returned."""

from __future__ import annotations

import calendar
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from difflib import SequenceMatcher
from functools import cache

from vault.catalog import document_types
from vault.documents.recognition import cccd
from vault.documents.recognition.words import fold
from vault.kit import days

FIELDS = ("number", "full_name", "date_of_birth", "issued_on", "expires_on", "address")
FUZZY = 0.8  # how alike a line's words must be to a heading misread by OCR
FUZZY_FROM = 12  # shorter headings ("hộ chiếu") must be read exactly
# Headings printed on papers beyond the catalog's own names (which are kept as they are).
HEADINGS: dict[str, tuple[str, ...]] = {
    "CCCD": ("căn cước công dân", "thẻ căn cước", "citizen identity card"),
    "HC": ("hộ chiếu", "passport"),
    "GCNQSDD": ("giấy chứng nhận quyền sử dụng đất",),
    "BTN_THPT": ("bằng tốt nghiệp trung học phổ thông",),
    "BTN_DH": ("bằng tốt nghiệp đại học", "bằng cử nhân", "bằng kỹ sư"),
    "GPLX": ("giấy phép lái xe", "driver's license"),
    "BHYT": ("thẻ bảo hiểm y tế",),
    "LLTP": ("phiếu lý lịch tư pháp",),
    "XNCT": ("xác nhận thông tin về cư trú",),
    "DKX": ("giấy chứng nhận đăng ký xe", "chứng nhận đăng ký xe"),
    "MST": ("thông báo mã số thuế",),
}
_NO_TEXT = {"KHAC", "ANH_THE"}
# Which fields each type's layout prints behind a label; others keep the default.
TYPE_FIELDS: dict[str, tuple[str, ...]] = {
    "CCCD": FIELDS,
    "HC": ("number", "full_name", "date_of_birth", "issued_on", "expires_on"),
    "GKS": ("number", "full_name", "date_of_birth", "issued_on"),
    "GPLX": ("number", "full_name", "date_of_birth", "issued_on", "expires_on", "address"),
    "BHYT": ("number", "full_name", "date_of_birth", "expires_on"),
    "BTN_THPT": ("number", "full_name", "date_of_birth", "issued_on"),
    "BTN_DH": ("number", "full_name", "date_of_birth", "issued_on"),
    "LLTP": ("number", "full_name", "date_of_birth", "issued_on", "address"),
    "XNCT": ("number", "full_name", "date_of_birth", "issued_on", "address"),
}
_DEFAULT_FIELDS = ("number", "issued_on", "expires_on")
# Printed labels, as folded text (no accents, lower case), before the value on the same line.
_LABELS: dict[str, str] = {
    "full_name": r"\b(?:ho,? (?:chu dem,? )?(?:va )?ten(?: khai sinh)?|full name)\b",
    "date_of_birth": r"\b(?:ngay,? thang,? nam sinh|ngay sinh|sinh ngay|date of birth)\b",
    "issued_on": r"\b(?:ngay cap|cap ngay|ngay dang ky|date of issue)\b",
    "expires_on": r"\b(?:co gia tri den|gia tri su dung den|ngay het han|date of expiry)\b",
    "address": r"\b(?:noi cu tru|noi thuong tru|dia chi|place of residence)\b",
    "number": r"(?:^|\b)(?:so dinh danh ca nhan|so hieu|so ho chieu|so|no)\b",
}
_NUMBER = re.compile(r"[0-9][0-9A-Za-z./\-]{2,40}")
_ID12 = re.compile(r"(?<![0-9])[0-9]{12}(?![0-9])")
_NUMERIC_DATE = re.compile(r"(?<![0-9])([0-9]{1,2})\s*[/.\-]\s*([0-9]{1,2})\s*[/.\-]\s*([0-9]{4})")
_WORDED_DATE = re.compile(r"ngay\s*([0-9]{1,2})\s*thang\s*([0-9]{1,2})\s*nam\s*([0-9]{4})")


@dataclass(frozen=True)
class Suggestion:
    doc_type: str | None
    fields: dict[str, str | None] = field(default_factory=dict)
    confidence: float = 0.0


@cache
def headings() -> list[tuple[str, str]]:
    """(folded heading, type code), from the catalog's Vietnamese names and `HEADINGS`: the
    part before a parenthesis, each name of "A / B", and a long name's part before its comma."""
    found: list[tuple[str, str]] = []
    for code, kind in document_types.document_types().items():
        if code in _NO_TEXT:
            continue
        names = list(HEADINGS.get(code, ()))
        for name in re.sub(r"\([^)]*\)", "", kind.name_vi).split(" / "):
            names.append(name)
            if len(name.split(",")[0].split()) >= 3:
                names.append(name.split(",")[0])
        for name in names:
            folded = " ".join(re.findall(r"[0-9a-z']+", fold(name)))
            if len(folded.split()) >= 2 and (folded, code) not in found:
                found.append((folded, code))
    return found


def suggest(text: str, ocr_confidence: float) -> Suggestion:
    lines = [unicodedata.normalize("NFC", line) for line in text.splitlines() if line.strip()]
    doc_type, match = type_of(lines)
    if doc_type is None:
        return Suggestion(None, {}, 0.0)
    fields = find_fields(doc_type, lines)
    return Suggestion(doc_type, fields, round(ocr_confidence * match, 2))


def type_of(lines: list[str]) -> tuple[str | None, float]:
    """The best heading: one in capitals first (a paper's title is), then the longest, then
    the earliest; a misread heading counts by how alike it is."""
    best: tuple[tuple[bool, float, int], str, float] | None = None
    for index, line in enumerate(lines):
        words = re.findall(r"[0-9a-z']+", fold(line))
        letters = [ch for ch in line if ch.isalpha()]
        capitals = bool(letters) and sum(ch.isupper() for ch in letters) >= 0.8 * len(letters)
        for heading, code in headings():
            likeness = _likeness(words, heading)
            if likeness < FUZZY:
                continue
            rank = (capitals, likeness * len(heading.split()), -index)
            if best is None or rank > best[0]:
                best = (rank, code, likeness)
    if best is None:
        return None, 0.0
    return best[1], best[2]


def _likeness(words: list[str], heading: str) -> float:
    wanted = heading.split()
    joined = " ".join(words)
    if f" {heading} " in f" {joined} ":
        return 1.0
    best = 0.0
    if len(heading) < FUZZY_FROM:
        return best
    for start in range(max(1, len(words) - len(wanted) + 1)):
        window = " ".join(words[start : start + len(wanted)])
        if abs(len(window) - len(heading)) <= 3:
            best = max(best, SequenceMatcher(None, window, heading).ratio())
    return best


def find_fields(doc_type: str, lines: list[str]) -> dict[str, str | None]:
    wanted = TYPE_FIELDS.get(doc_type, _DEFAULT_FIELDS)
    found: dict[str, str | None] = dict.fromkeys(FIELDS)
    for line in lines:
        folded = _aligned_fold(line)
        for name in wanted:
            if found[name] is not None:
                continue
            label = re.search(_LABELS[name], folded)
            if label is None:
                continue
            value = line[label.end() :].lstrip(" :./-")
            found[name] = _value(name, value, folded[label.end() :])
    if doc_type == "CCCD":
        ids = _ID12.findall("\n".join(lines))
        found["number"] = ids[0] if ids else found["number"]
    if "issued_on" in wanted and found["issued_on"] is None:
        found["issued_on"] = _signed_on(lines)
    _fill_expiry(doc_type, found)
    return {name: found[name] for name in FIELDS}


def _value(name: str, value: str, folded: str) -> str | None:
    if name in ("date_of_birth", "issued_on", "expires_on"):
        day = _date_in(folded)
        return day.isoformat() if day else None
    if name == "number":
        number = _NUMBER.search(value)
        return number.group(0).rstrip("./-") if number else None
    text = " ".join(value.split())
    return text[:200] or None


def _date_in(folded: str) -> date | None:
    for pattern in (_NUMERIC_DATE, _WORDED_DATE):
        found = pattern.search(folded)
        if found:
            day, month, year = (int(part) for part in found.groups())
            try:
                found_day = date(year, month, day)
            except ValueError:
                return None
            return found_day if days.plausible(found_day) else None
    return None


def _signed_on(lines: list[str]) -> str | None:
    """The date a paper was signed: "…, ngày 15 tháng 6 năm 2021", the last one printed."""
    for line in reversed(lines):
        found = _WORDED_DATE.search(_aligned_fold(line))
        if found:
            day = _date_in(found.group(0))
            if day:
                return day.isoformat()
    return None


def _fill_expiry(doc_type: str, found: dict[str, str | None]) -> None:
    if found["expires_on"] or not found["issued_on"]:
        return
    issued = date.fromisoformat(found["issued_on"])
    if doc_type == "CCCD" and found["date_of_birth"]:
        expiry = cccd.expires_on(date.fromisoformat(found["date_of_birth"]), issued)
        found["expires_on"] = expiry.isoformat() if expiry else None
        return
    months = document_types.document_types()[doc_type].validity_months
    kind = document_types.document_types()[doc_type]
    if kind.expires and months:
        year, month = divmod(issued.month - 1 + months, 12)
        found["expires_on"] = _clamped(issued.year + year, month + 1, issued.day).isoformat()


def _clamped(year: int, month: int, day: int) -> date:
    """The day in that month, or its last (31 January + 1 month is 28 or 29 February)."""
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _aligned_fold(line: str) -> str:
    """Folded character by character, so a label found in it ends where it ends in `line`."""
    return "".join((fold(ch) or " ")[0] for ch in line)
