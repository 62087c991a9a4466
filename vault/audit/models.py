"""The hash-chained audit log."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from vault.db import state_type, timestamp_field


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
    # Its place in the Merkle tree of signed checkpoints (vault.audit.checkpoints), given once
    # by the checkpoint job; None until then. Not covered by entry_hash: the tree covers it.
    leaf_index: int | None = Field(default=None, sa_type=BigInteger)

    __table_args__ = (
        UniqueConstraint("chain", "seq"),
        UniqueConstraint("leaf_index", name="uq_audit_event_leaf_index"),
        Index(
            "ix_audit_event_unsequenced",
            "id",
            postgresql_where=text("leaf_index IS NULL"),
            sqlite_where=text("leaf_index IS NULL"),
        ),
    )


class AuditNode(SQLModel, table=True):
    """The hash of a complete subtree of the checkpoints' Merkle tree: leaves
    [position·2^level, (position+1)·2^level); level 0 holds the leaves' hashes."""

    __tablename__ = "audit_node"

    level: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    position: int = Field(
        primary_key=True, sa_type=BigInteger, sa_column_kwargs={"autoincrement": False}
    )
    hash: bytes = Field(sa_type=LargeBinary)


class AuditCheckpoint(SQLModel, table=True):
    """A signed checkpoint: a C2SP signed note over the tree's size and root, as published."""

    __tablename__ = "audit_checkpoint"

    id: int | None = Field(
        default=None, primary_key=True, sa_type=BigInteger().with_variant(Integer, "sqlite")
    )
    tree_size: int = Field(sa_type=BigInteger, index=True)
    root_hash: bytes = Field(sa_type=LargeBinary)
    note: str
    key_id: str = Field(max_length=32)
    object_key: str | None = Field(default=None, max_length=128)
    object_locked: bool = False
    created_at: datetime = timestamp_field()
