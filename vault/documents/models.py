"""Papers and their versions: only what queries need is in clear; the rest is sealed bytes."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    Text,
)
from sqlmodel import Field, SQLModel

from vault.catalog.document_types import Trust
from vault.db import state_type, timestamp_field


class Document(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    owner_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("citizen.id", ondelete="CASCADE"), nullable=False)
    )
    doc_type: str = Field(max_length=32)
    current_version: int = 1
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()

    __table_args__ = (Index("ix_document_owner_type", "owner_id", "doc_type"),)


class DocumentVersion(SQLModel, table=True):
    """One stored scan of a paper: its object, its thumbnail and their wrapped data keys."""

    __tablename__ = "document_version"

    document_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("document.id", ondelete="CASCADE"), primary_key=True)
    )
    version: int = Field(primary_key=True)
    object_key: str = Field(max_length=64, unique=True)
    thumbnail_key: str | None = Field(default=None, max_length=64, unique=True)
    kek_version: int
    wrapped_dek: bytes = Field(sa_type=LargeBinary)
    wrapped_thumbnail_dek: bytes | None = Field(default=None, sa_type=LargeBinary)
    content_type: str = Field(max_length=64)
    size: int = Field(sa_type=BigInteger)
    thumbnail_size: int | None = None
    pages: int
    trust: Trust = Field(sa_type=state_type(Trust, 16))
    issued_on: date | None = None
    expires_on: date | None = Field(default=None, index=True)
    # Title, document number, original file name and SHA-256, sealed under the data key.
    sealed_metadata: bytes = Field(sa_type=LargeBinary)
    # For trust "issued": who issued it, its detached signature over the SHA-256 of the paper,
    # and the issuer's public key as it was when the paper was deposited.
    issuer_agency_id: uuid.UUID | None = Field(default=None, foreign_key="agency.id")
    signature: bytes | None = Field(default=None, sa_type=LargeBinary)
    signer_key_pem: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = timestamp_field()


class UploadState(StrEnum):
    RECEIVING = "receiving"  # bytes still to come
    COMPLETE = "complete"  # every byte arrived; not yet made into a paper
    CONSUMED = "consumed"  # made into a paper; what it held in the store is the paper's or gone


class ResumableUpload(SQLModel, table=True):
    """A tus upload on its way to becoming a paper, written as it arrives into the object that
    can become the paper itself: a DVLT stream bound to the paper it would be (`document_id`,
    version 1) under a data key wrapped as that paper's is, assembled in the store from parts
    (`assembly`, one part per `part_tokens`) that hold the chunks sealed so far (`sealed` bytes
    of plaintext). Bytes received past the last whole part wait in a small tail object under
    the upload's own key (`wrapped_key`, which also seals the file name and type). `received`
    counts only bytes stored and recorded. `declared` is the SHA-256 of the part being sent,
    which starts at plaintext byte `declared_from`, recorded before its ciphertext leaves the
    server: sent again, it must be the same bytes, so that no GCM nonce seals two plaintexts."""

    __tablename__ = "resumable_upload"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    owner_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("citizen.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    length: int = Field(sa_type=BigInteger)
    received: int = Field(default=0, sa_type=BigInteger)
    kek_version: int
    wrapped_key: bytes = Field(sa_type=LargeBinary)
    sealed_metadata: bytes = Field(sa_type=LargeBinary)
    state: UploadState = Field(sa_type=state_type(UploadState, 16))
    document_id: uuid.UUID
    object_key: str = Field(max_length=64, unique=True)
    assembly: str | None = Field(default=None, max_length=256)
    wrapped_dek: bytes = Field(sa_type=LargeBinary)
    header: bytes = Field(sa_type=LargeBinary)
    sealed: int = Field(default=0, sa_type=BigInteger)
    part_tokens: str = Field(default="[]", sa_type=Text)
    tail_key: str | None = Field(default=None, max_length=64, unique=True)
    declared_from: int | None = Field(default=None, sa_type=BigInteger)
    declared: bytes | None = Field(default=None, sa_type=LargeBinary)
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()
    expires_at: datetime = Field(sa_type=DateTime(timezone=True), index=True)
