"""The catalog of document types a citizen can store, loaded from the package's data file."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

from vault.kit.errors import InvalidInput


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
