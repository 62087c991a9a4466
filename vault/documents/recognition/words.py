"""Words as a person searches them: no accents, no case ("giay khai sinh" finds "Giấy khai
sinh"), and đ as d, which Unicode does not decompose."""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"[0-9a-z]+")


def fold(value: str) -> str:
    decomposed = unicodedata.normalize("NFD", value)
    bare = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return bare.replace("đ", "d").replace("Đ", "D").casefold()


def words(value: str) -> list[str]:
    return _WORD.findall(fold(value))


def matches_all(query: list[str], haystack: str) -> bool:
    """Every query word begins a word of the haystack (so "khai" finds "khai sinh", and a
    number's digits match however it is punctuated only if the query is written the same)."""
    present = words(haystack)
    return all(any(word.startswith(q) for word in present) for q in query)
