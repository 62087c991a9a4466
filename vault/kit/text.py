"""Text a person typed: one line (a name, a purpose, a note) or several (an answer in a form)."""

from __future__ import annotations

import unicodedata

MAX_NAME = 200  # a person's or an office's name, as every name column holds it
# A phone number as people write it: 8 to 16 digits, spaces between groups, an optional +.
PHONE_PATTERN = r"^\+?[0-9 ]{8,16}$"
_FAMILY_NAME = 12  # the longest family name shown whole to a stranger ("Nguyễn" is 6)
_INVISIBLE = ("Cc", "Cf")  # control and format characters: NUL, bidi overrides, zero-width space


def one_line(value: str | None) -> str:
    """NFC (a name typed on another system compares and displays the same), invisible characters
    dropped — they carry no meaning here and can disguise a purpose or a name — and every run of
    whitespace one space."""
    return " ".join(_visible(value).split())


def lines(value: str | None) -> str:
    """As `one_line`, line by line: the line breaks of an address or an answer are kept."""
    kept = (one_line(line) for line in _visible(value).splitlines())
    return "\n".join(kept).strip("\n")


def _visible(value: str | None) -> str:
    composed = unicodedata.normalize("NFC", value or "")
    return "".join(
        ch for ch in composed if ch.isspace() or unicodedata.category(ch) not in _INVISIBLE
    )


def mask_name(full_name: str) -> str:
    """`Nguyễn Thị Lan` → `Nguyễn T** L**`: enough to recognise someone one knows, not enough
    to read names off a list of numbers, nor to carry a message: a "name" is what its owner
    typed, and this is how it reaches other people before they know them. A first word that
    is not a plain word of letters (a link, a phone number) is masked as well."""
    words = full_name.split()
    if not words:
        return ""
    first = words[0]
    kept = first if first.isalpha() and len(first) <= _FAMILY_NAME else f"{first[0]}**"
    return " ".join([kept, *(f"{word[0]}**" for word in words[1:])])
