"""Dossiers, their attached papers and their history, and the states they go through."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
)
from sqlmodel import Field, SQLModel

from vault.db import state_type, timestamp_field


class DossierStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    PROCESSING = "processing"
    NEEDS_SUPPLEMENT = "needs_supplement"
    REJECTED = "rejected"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"

    @property
    def closed(self) -> bool:
        return self in _CLOSED

    @property
    def editable(self) -> bool:
        """With the citizen: papers and form can change, and the dossier can be (re)submitted."""
        return self in _EDITABLE


_CLOSED = frozenset({DossierStatus.REJECTED, DossierStatus.COMPLETED, DossierStatus.WITHDRAWN})
_EDITABLE = frozenset({DossierStatus.DRAFT, DossierStatus.NEEDS_SUPPLEMENT})


class AttachmentReason(StrEnum):
    """Why a required paper is attached to a dossier or is not."""

    ATTACHED = "attached"
    NONE_STORED = "none_stored"
    EXPIRED = "expired"
    TOO_OLD = "too_old"
    TRUST_TOO_LOW = "trust_too_low"


class Dossier(SQLModel, table=True):
    """A citizen's application (hồ sơ) for one procedure at one agency."""

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    citizen_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("citizen.id", ondelete="CASCADE"), index=True, nullable=False)
    )
    procedure_code: str = Field(foreign_key="procedure.code", max_length=32)
    agency_id: uuid.UUID = Field(foreign_key="agency.id", index=True)
    status: DossierStatus = Field(sa_type=state_type(DossierStatus, 24))
    # The form, sealed under the citizen's key: it holds names, dates, addresses.
    sealed_form: bytes = Field(sa_type=LargeBinary)
    grant_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(ForeignKey("share_grant.id", ondelete="SET NULL"), nullable=True),
    )
    result_document_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(ForeignKey("document.id", ondelete="SET NULL"), nullable=True),
    )
    # Kept when the citizen deletes the result: a dossier takes its result once.
    result_deposited_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()
    submitted_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    closed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))

    __table_args__ = (Index("ix_dossier_agency_status", "agency_id", "status"),)


class DossierAttachment(SQLModel, table=True):
    """One paper a dossier's procedure asks for: the paper attached, from the vault (reused) or
    uploaded for it, or why there is none. Once the dossier is submitted, `reason` is what was
    found that day: `attached` for the papers sent, the problem for those that were not. Later
    views show it, not what the vault holds by then. Deleting the paper deletes its row."""

    __tablename__ = "dossier_attachment"

    dossier_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("dossier.id", ondelete="CASCADE"), primary_key=True)
    )
    doc_type: str = Field(primary_key=True, max_length=32)
    document_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(ForeignKey("document.id", ondelete="CASCADE"), nullable=True, index=True),
    )
    version: int | None = None
    reused: bool = False
    reason: AttachmentReason = Field(
        default=AttachmentReason.ATTACHED, sa_type=state_type(AttachmentReason, 16)
    )


class DossierEvent(SQLModel, table=True):
    """The state history of a dossier; notes are sealed under the citizen's key."""

    __tablename__ = "dossier_event"

    id: int | None = Field(
        default=None, primary_key=True, sa_type=BigInteger().with_variant(Integer, "sqlite")
    )
    dossier_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("dossier.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    status: DossierStatus = Field(sa_type=state_type(DossierStatus, 24))
    actor_type: str = Field(max_length=16)
    actor: str | None = Field(default=None, max_length=64)
    sealed_note: bytes | None = Field(default=None, sa_type=LargeBinary)
    at: datetime = timestamp_field()
