"""Share grants and the papers each one covers."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    LargeBinary,
    Text,
)
from sqlmodel import Field, SQLModel

from vault.db import state_type, timestamp_field


class GrantStatus(StrEnum):
    """Where a grant stands, derived from its row whenever it is read, so that expiry needs no
    job; only how an ended grant ended is stored."""

    ACTIVE = "active"
    REVOKED = "revoked"
    EXPIRED = "expired"
    USED_UP = "used_up"
    # Ended with the dossier it was made for, when the agency completed it.
    COMPLETED = "completed"


class Grant(SQLModel, table=True):
    """Chosen papers of one citizen for one agency, for a purpose and a time.

    The share token is never stored: it is derived from `token_salt` under the citizen's key
    (so the citizen can show its QR code again) and found by its hash.
    """

    __tablename__ = "share_grant"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    citizen_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("citizen.id", ondelete="CASCADE"), index=True, nullable=False)
    )
    agency_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("agency.id", ondelete="CASCADE"), index=True, nullable=False)
    )
    token_hash: str = Field(max_length=64, unique=True)
    token_salt: bytes = Field(sa_type=LargeBinary)
    sealed_purpose: bytes = Field(sa_type=LargeBinary)
    expires_at: datetime = Field(sa_type=DateTime(timezone=True))
    max_uses: int | None = None
    uses: int = 0
    # When the grant was ended before its time, and how: revoked, or completed with its dossier.
    revoked_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    ended_as: GrantStatus | None = Field(default=None, sa_type=state_type(GrantStatus, 16))
    created_at: datetime = timestamp_field()


class GrantDocument(SQLModel, table=True):
    """A paper in a grant, pinned to the version shared; deleting the paper removes the row.
    `masks`: the parts the citizen blacked out, as JSON (see vault.sharing.masks); none if null."""

    __tablename__ = "share_grant_document"

    grant_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("share_grant.id", ondelete="CASCADE"), primary_key=True)
    )
    document_id: uuid.UUID = Field(
        sa_column=Column(
            ForeignKey("document.id", ondelete="CASCADE"), primary_key=True, index=True
        )
    )
    version: int
    masks: str | None = Field(default=None, sa_type=Text)
