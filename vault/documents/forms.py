"""The fields sent beside the files of a paper."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from vault.catalog import document_types
from vault.kit import days, text
from vault.kit.errors import InvalidInput

if TYPE_CHECKING:
    from vault.documents.reading import DocumentView

_TEXT_FIELDS = {"title": 200, "number": 64}
_DATE_FIELDS = ("issued_on", "expires_on")
UNREAD = "KHAC"  # the type of a paper uploaded without one, until the citizen confirms one


class DetailsForm:
    """The fields sent beside the files, checked as each one arrives so that a wrong
    document type is refused before a large file is read."""

    def __init__(self, *, doc_type: str | None = None, signed: bool = False) -> None:
        self.doc_type = doc_type
        self.text: dict[str, str | None] = {}
        self.dates: dict[str, date | None] = {}
        self.signature: str | None = None
        self._signed = signed
        self._given: set[str] = set()

    def accept(self, name: str, value: str) -> None:
        if name in self._given:
            raise InvalidInput(f"{name} is given twice; send it once.", field=name)
        self._given.add(name)
        value = value.strip()
        if name == "doc_type":
            if not value and not self._signed:
                return  # left for the vault to read: the paper is KHAC until the citizen confirms
            if self.doc_type is not None and value != self.doc_type:
                raise InvalidInput("A new version keeps the paper's document type.", field=name)
            self.doc_type = document_types.document_type(value).code
        elif name in _TEXT_FIELDS:
            value = text.one_line(value)  # no control or bidi characters to disguise a number
            if len(value) > _TEXT_FIELDS[name]:
                raise InvalidInput(
                    f"{name} has at most {_TEXT_FIELDS[name]} characters.", field=name
                )
            self.text[name] = value or None
        elif name == "signature" and self._signed:
            self.signature = value
        elif name in _DATE_FIELDS:
            try:
                self.dates[name] = days.parse(value) if value else None
            except ValueError:
                raise InvalidInput(f"{name} is a date written YYYY-MM-DD.", field=name) from None
        else:
            raise InvalidInput(f"Unknown field {name!r}.", field=name)

    def inherit(self, previous: DocumentView) -> None:
        """A new version keeps the title, number and dates of the one it replaces, for each
        field not sent at all (a field sent empty clears it): a paper must not lose its expiry
        because a scan was retaken."""
        for name in _TEXT_FIELDS:
            if name not in self._given:
                self.text[name] = getattr(previous, name)
        for name in _DATE_FIELDS:
            if name not in self._given:
                self.dates[name] = getattr(previous, name)

    def finish(self) -> str:
        if self.doc_type is None and not self._signed:
            self.doc_type = UNREAD
        if self.doc_type is None:
            raise InvalidInput(
                "doc_type is required; see GET /api/v1/document-types.", field="doc_type"
            )
        issued, expires = self.dates.get("issued_on"), self.dates.get("expires_on")
        if issued and expires and expires < issued:
            raise InvalidInput("expires_on cannot be before issued_on.", field="expires_on")
        if issued and issued > days.today():
            raise InvalidInput("issued_on cannot be in the future.", field="issued_on")
        return self.doc_type
