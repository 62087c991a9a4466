"""What the vault read from one version of a paper. The fields and the OCR text are sealed
under a key derived from that version's data key, so shredding the paper shreds them too."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, DateTime, ForeignKeyConstraint, LargeBinary
from sqlmodel import Field, SQLModel

from vault.db import state_type, timestamp_field


class ReadingStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    UNAVAILABLE = "unavailable"
    FAILED = "failed"


class ReadingSource(StrEnum):
    QR = "qr"
    OCR = "ocr"


class DocumentReading(SQLModel, table=True):
    __tablename__ = "document_reading"

    document_id: uuid.UUID = Field(primary_key=True)
    version: int = Field(primary_key=True)
    status: ReadingStatus = Field(sa_type=state_type(ReadingStatus, 16))
    source: ReadingSource | None = Field(default=None, sa_type=state_type(ReadingSource, 8))
    # A type code of the catalog, as clear as the paper's own doc_type column.
    suggested_doc_type: str | None = Field(default=None, max_length=32)
    confidence: float | None = None
    # {"fields": {...}, "warnings": [...]} and the OCR text, sealed (see service.seal).
    sealed_fields: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    sealed_text: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    # Why it is unavailable or failed: the vault's own words, never the paper's.
    detail: str | None = Field(default=None, max_length=300)
    accepted_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()

    __table_args__ = (
        ForeignKeyConstraint(
            ["document_id", "version"],
            ["document_version.document_id", "document_version.version"],
            ondelete="CASCADE",
        ),
    )
