"""Receiving agencies and their client-credential tokens."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Text,
)
from sqlmodel import Field, SQLModel

from vault.db import timestamp_field


class Agency(SQLModel, table=True):
    """A receiving agency, registered by an operator. Its client secret is stored only hashed."""

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=200)
    # Local government has two tiers since July 2025: commune and province; plus central bodies.
    level: str = Field(default="commune", max_length=16)
    client_id: str = Field(max_length=64, unique=True)
    secret_hash: str = Field(max_length=64)
    created_at: datetime = timestamp_field()
    secret_rotated_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    disabled_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    # The key that signs the papers this agency issues (Ed25519 or ECDSA P-256), PEM.
    signing_key_pem: str | None = Field(default=None, sa_type=Text)


class AgencyToken(SQLModel, table=True):
    __tablename__ = "agency_token"

    token_hash: str = Field(primary_key=True, max_length=64)
    agency_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("agency.id", ondelete="CASCADE"), index=True, nullable=False)
    )
    # Set when a person logged in at the counter; None for the agency's own systems.
    officer_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(ForeignKey("officer.id", ondelete="CASCADE"), nullable=True),
    )
    expires_at: datetime = Field(sa_type=DateTime(timezone=True), index=True)
    created_at: datetime = timestamp_field()
