"""The catalog of document types a citizen can store, loaded from the package's data file,
and the trust levels a stored paper can have."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources

from vault.kit.errors import InvalidInput


class Trust(StrEnum):
    """How far a stored paper can be trusted. Kept here rather than with the papers because
    procedures name the least trust they accept, and the catalog sits below the papers."""

    SELF_SCAN = "self_scan"
    CERTIFIED = "certified"
    ISSUED = "issued"

    @property
    def rank(self) -> int:
        return _RANKS.index(self)


_RANKS = (Trust.SELF_SCAN, Trust.CERTIFIED, Trust.ISSUED)


@dataclass(frozen=True)
class DocumentType:
    code: str
    name_vi: str
    name_en: str
    expires: bool
    validity_months: int | None
    issuer: str | None


@cache
def document_types() -> dict[str, DocumentType]:
    raw = json.loads(resources.files("vault.data").joinpath("document_types.json").read_text())
    return {
        item["code"]: DocumentType(
            code=item["code"],
            name_vi=item["name_vi"],
            name_en=item["name_en"],
            expires=item["expires"],
            validity_months=item["validity_months"],
            issuer=item["issuer"],
        )
        for item in raw["document_types"]
    }


def document_type(code: str) -> DocumentType:
    try:
        return document_types()[code]
    except KeyError:
        raise InvalidInput(
            f"Unknown document type {code!r}; see GET /api/v1/document-types.", field="doc_type"
        ) from None
