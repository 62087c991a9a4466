from __future__ import annotations

from fastapi import APIRouter

from vault.api.schemas import DocumentTypePublic
from vault.catalog import document_types

router = APIRouter(prefix="/document-types", tags=["documents"])


@router.get("", response_model=list[DocumentTypePublic])
def list_document_types() -> list[DocumentTypePublic]:
    return [
        DocumentTypePublic.model_validate(kind, from_attributes=True)
        for kind in document_types.document_types().values()
    ]
