"""Citizen keys, index keys and agency signing keys, each wrapped under a master key version."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    LargeBinary,
)
from sqlmodel import Field, SQLModel

from vault.db import state_type, timestamp_field


class CitizenKey(SQLModel, table=True):
    """The citizen's key-encryption key, wrapped by a master key version.

    Deleting this row is erasure: every data key of the citizen becomes unopenable.
    """

    __tablename__ = "citizen_key"

    citizen_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("citizen.id", ondelete="CASCADE"), primary_key=True)
    )
    kek_version: int = 1
    master_version: int = Field(index=True)
    wrapped_kek: bytes = Field(sa_type=LargeBinary)
    created_at: datetime = timestamp_field()
    rewrapped_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class MasterKeyCheck(SQLModel, table=True):
    """A constant sealed under one master key version: a key file that is present but not the
    one the data was wrapped under fails to open it, before anything new is wrapped."""

    __tablename__ = "master_key_check"

    version: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    check: bytes = Field(sa_type=LargeBinary)
    created_at: datetime = timestamp_field()


class IndexKey(SQLModel, table=True):
    """The key of a blind index (vault.keys.national_ids), wrapped by a master key version."""

    __tablename__ = "index_key"

    purpose: str = Field(primary_key=True, max_length=32)
    master_version: int = Field(index=True)
    wrapped_key: bytes = Field(sa_type=LargeBinary)
    created_at: datetime = timestamp_field()
    rewrapped_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class KeyUse(StrEnum):
    """What an agency's key signs: certified copies (kept by the vault), or issued papers (the
    agency keeps that private key; the vault knows only its public key)."""

    CERTIFY = "certify"
    ISSUE = "issue"


class AgencyKey(SQLModel, table=True):
    """An agency's Ed25519 private key (vault.keys.agency_keys), wrapped by a master key
    version. A rotated key is retired, not deleted: what it signed must keep verifying."""

    __tablename__ = "agency_key"

    key_id: str = Field(primary_key=True, max_length=32)
    agency_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("agency.id", ondelete="CASCADE"), index=True, nullable=False)
    )
    use: KeyUse = Field(sa_type=state_type(KeyUse, 16))
    public_key: bytes = Field(sa_type=LargeBinary)
    master_version: int = Field(index=True)
    wrapped_key: bytes = Field(sa_type=LargeBinary)
    created_at: datetime = timestamp_field()
    retired_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    rewrapped_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class AuditSigningKey(SQLModel, table=True):
    """The operator's Ed25519 key that signs the audit log's checkpoints
    (vault.keys.signing_keys), wrapped by a master key version. A replaced key is retired, not
    deleted: the checkpoints it signed must keep verifying."""

    __tablename__ = "audit_signing_key"

    key_id: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=200)
    public_key: bytes = Field(sa_type=LargeBinary)
    master_version: int = Field(index=True)
    wrapped_key: bytes = Field(sa_type=LargeBinary)
    created_at: datetime = timestamp_field()
    retired_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    rewrapped_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
