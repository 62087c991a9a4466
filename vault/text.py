"""One line of text a person typed: a name, a purpose, a note."""

from __future__ import annotations

import unicodedata

_INVISIBLE = ("Cc", "Cf")  # control and format characters: NUL, bidi overrides, zero-width space


def one_line(value: str | None) -> str:
    """NFC (a name typed on another system compares and displays the same), invisible characters
    dropped — they carry no meaning here and can disguise a purpose or a name — and every run of
    whitespace one space."""
    composed = unicodedata.normalize("NFC", value or "")
    kept = "".join(
        ch for ch in composed if ch.isspace() or unicodedata.category(ch) not in _INVISIBLE
    )
    return " ".join(kept.split())
