"""Display names for downloads: the citizen's own file name, made harmless, with the extension
of what is really stored (a HEIC photo is stored and served as JPEG)."""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePosixPath, PureWindowsPath

EXTENSIONS = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}
_MAX_STEM = 100
_UNSAFE = re.compile(r'[\\/:*?"<>|]+')
_RESERVED = {
    "CON",
    "PRN",
    "AUX",
    "NUL",
    *(f"COM{i}" for i in range(10)),
    *(f"LPT{i}" for i in range(10)),
}


def clean(name: str | None) -> str:
    """The stem a citizen recognises, without paths, controls, bidi tricks or reserved names."""
    name = unicodedata.normalize("NFC", name or "")
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = PureWindowsPath(PurePosixPath(name).name).name
    stem = name.rsplit(".", 1)[0] if "." in name.strip(".") else name
    stem = _UNSAFE.sub("_", stem).strip(" ._")[:_MAX_STEM].strip(" ._")
    if not stem or stem.upper() in _RESERVED:
        return "giay-to"
    return stem


def for_download(stem: str, content_type: str) -> str:
    return clean(stem) + EXTENSIONS.get(content_type, "")
