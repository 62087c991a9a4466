"""Vietnamese by default, English as a switch: every string of the pages is a message id looked
up in a gettext catalog (vault/web/locale/<lang>/LC_MESSAGES/messages.po), read with Babel and
compiled in memory when the app starts — no build step."""

from __future__ import annotations

import io
from datetime import date
from functools import cache
from importlib import resources

from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LANGUAGES = ("vi", "en")
DEFAULT = "vi"


@cache
def translations(language: str) -> Translations:
    source = resources.files("vault.web").joinpath(f"locale/{language}/LC_MESSAGES/messages.po")
    catalog = read_po(io.StringIO(source.read_text(encoding="utf-8")), locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


class Messages:
    """The `_` of the templates: a message id in, the text of the chosen language out."""

    def __init__(self, language: str) -> None:
        self.language = language if language in LANGUAGES else DEFAULT
        self._catalog = translations(self.language)

    def __call__(self, key: str, **values: object) -> str:
        text = self._catalog.gettext(key)
        return text.format(**values) if values else text

    def has(self, key: str) -> bool:
        return self._catalog.gettext(key) != key

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        return self._catalog.ngettext(singular, plural, count).format(count=count)

    def date(self, value: date | None) -> str:
        return format_date(value, format="medium", locale=self.language) if value else ""
