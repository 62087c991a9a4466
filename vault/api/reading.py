"""What the vault read from a paper, and the citizen's one-tap confirmation of it."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, field_validator

from vault.api.deps import BackendDep, SessionDep, WritesPapers
from vault.api.schemas import DocumentPublic
from vault.documents import DocumentView, recognition
from vault.kit import days

router = APIRouter(prefix="/documents", tags=["documents"])


class ReadingFields(BaseModel):
    number: str | None = None
    full_name: str | None = None
    date_of_birth: date | None = None
    issued_on: date | None = None
    expires_on: date | None = None
    address: str | None = None


class ReadingWarning(BaseModel):
    code: Literal["not_own_number", "number_does_not_fit"]
    detail: str


class ReadingPublic(BaseModel):
    status: Literal["pending", "done", "unavailable", "failed"]
    source: Literal["qr", "ocr"] | None
    suggested_doc_type: str | None
    fields: ReadingFields
    confidence: float | None = Field(description="0..1: how sure the vault is of its suggestion")
    warnings: list[ReadingWarning] = Field(
        description="Worth the citizen's attention, never a refusal (a card of someone else)"
    )
    detail: str | None = Field(description="Why a paper was not read, in the vault's words")
    accepted: bool = Field(description="The citizen confirmed the suggestion")

    @classmethod
    def of(cls, view: recognition.ReadingView) -> ReadingPublic:
        return cls(
            status=view.status.value,
            source=view.source.value if view.source else None,
            suggested_doc_type=view.suggested_doc_type,
            fields=ReadingFields.model_validate(view.fields),
            confidence=view.confidence,
            warnings=[ReadingWarning(code=w.code, detail=w.detail) for w in view.warnings],
            detail=view.detail,
            accepted=view.accepted,
        )


class DocumentRead(DocumentPublic):
    """A paper with what the vault read from its current version."""

    reading: ReadingPublic

    @classmethod
    def read(cls, view: DocumentView, reading: recognition.ReadingView) -> DocumentRead:
        public = DocumentPublic.of(view)
        return cls(**public.model_dump(), reading=ReadingPublic.of(reading))


class ReadingAccept(BaseModel):
    """Corrections over the suggestion; a field left out keeps what the vault suggested."""

    model_config = ConfigDict(extra="forbid")

    doc_type: str | None = Field(default=None, max_length=32)
    number: str | None = Field(default=None, max_length=64)
    full_name: str | None = Field(default=None, max_length=200)
    date_of_birth: date | None = None
    issued_on: date | None = None
    expires_on: date | None = None
    address: str | None = Field(default=None, max_length=300)

    @field_validator("date_of_birth", "issued_on", "expires_on")
    @classmethod
    def _plausible(cls, value: date | None) -> date | None:
        if value is not None and not days.plausible(value):
            raise ValueError(f"a date between {days.FIRST_YEAR} and {days.LAST_YEAR}")
        return value

    def corrections(self) -> dict[str, str | None]:
        given = self.model_dump(exclude_unset=True)
        return {k: v.isoformat() if isinstance(v, date) else v for k, v in given.items()}


@router.post("/{document_id}/reading/accept", response_model=DocumentRead)
def accept_reading(
    document_id: uuid.UUID,
    citizen: WritesPapers,
    session: SessionDep,
    backend: BackendDep,
    body: ReadingAccept | None = None,
) -> DocumentRead:
    """Make the suggestion (with any corrections) the paper's type, number and dates."""
    corrections = body.corrections() if body else {}
    view = recognition.accept(
        session, backend, owner=citizen, document_id=document_id, corrections=corrections
    )
    return DocumentRead.read(
        view, recognition.reading_of(session, backend, owner=citizen, document_id=view.id)
    )
