from __future__ import annotations

from fastapi import APIRouter

from vault import catalog
from vault.api.schemas import DocumentTypePublic

router = APIRouter(prefix="/document-types", tags=["documents"])


@router.get("", response_model=list[DocumentTypePublic])
def list_document_types() -> list[DocumentTypePublic]:
    return [
        DocumentTypePublic.model_validate(kind, from_attributes=True)
        for kind in catalog.document_types().values()
    ]
