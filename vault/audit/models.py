"""The hash-chained audit log."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    DateTime,
    Integer,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from vault.db import state_type


class Outcome(StrEnum):
    SUCCESS = "success"
    DENIED = "denied"


class AuditEvent(SQLModel, table=True):
    """One link of a hash chain; one chain per citizen, plus the `system` chain.

    No foreign keys: the record outlives what it speaks of. No content, token or secret.
    """

    __tablename__ = "audit_event"

    # SQLite assigns ids only to an INTEGER PRIMARY KEY.
    id: int | None = Field(
        default=None, primary_key=True, sa_type=BigInteger().with_variant(Integer, "sqlite")
    )
    chain: str = Field(max_length=40)
    seq: int
    occurred_at: datetime = Field(sa_type=DateTime(timezone=True))
    actor_type: str = Field(max_length=16)
    actor_id: str | None = Field(default=None, max_length=64)
    action: str = Field(max_length=40)
    outcome: Outcome = Field(sa_type=state_type(Outcome, 16))
    reason: str | None = Field(default=None, max_length=40)
    document_id: uuid.UUID | None = None
    grant_id: uuid.UUID | None = Field(default=None, index=True)
    agency_id: uuid.UUID | None = None
    details: str = "{}"
    prev_hash: str = Field(max_length=64)
    entry_hash: str = Field(max_length=64)

    __table_args__ = (UniqueConstraint("chain", "seq"),)
