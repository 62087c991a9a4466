"""Citizens, their sessions and login throttles, and counter officers."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    LargeBinary,
)
from sqlmodel import Field, SQLModel

from vault.db import timestamp_field


class Citizen(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    # The login name is a 12-digit number printed on most papers a citizen holds. It is found
    # through its blind index (one account per number) and shown from the sealed copy, under
    # the citizen's own key; see vault.keys.national_ids.
    national_id_index: bytes = Field(sa_type=LargeBinary, unique=True)
    sealed_national_id: bytes = Field(sa_type=LargeBinary)
    password_hash: str = Field(max_length=255)
    # Full name and phone, sealed under the citizen's own key.
    sealed_profile: bytes = Field(sa_type=LargeBinary)
    created_at: datetime = timestamp_field()


class AccessToken(SQLModel, table=True):
    __tablename__ = "access_token"

    token_hash: str = Field(primary_key=True, max_length=64)
    citizen_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("citizen.id", ondelete="CASCADE"), index=True, nullable=False)
    )
    expires_at: datetime = Field(sa_type=DateTime(timezone=True), index=True)
    created_at: datetime = timestamp_field()


class LoginThrottle(SQLModel, table=True):
    """Failed logins per key (an account or a client address), in a sliding window."""

    __tablename__ = "login_throttle"

    key: str = Field(primary_key=True, max_length=80)
    failures: int = 0
    window_started_at: datetime = timestamp_field()
    blocked_until: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class Officer(SQLModel, table=True):
    """A person at an agency's counter. The agency's client secret is for machines; people log
    in with their own account, so the access log can name them."""

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    agency_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("agency.id", ondelete="CASCADE"), index=True, nullable=False)
    )
    username: str = Field(max_length=64, unique=True)
    full_name: str = Field(max_length=200)
    password_hash: str = Field(max_length=255)
    created_at: datetime = timestamp_field()
    disabled_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class KnownDevice(SQLModel, table=True):
    """A device (a browser, an app) a citizen has logged in from: a login from one not seen
    before is announced to them."""

    __tablename__ = "known_device"

    citizen_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("citizen.id", ondelete="CASCADE"), primary_key=True)
    )
    # SHA-256 of the citizen's id and the client's User-Agent.
    device_key: str = Field(primary_key=True, max_length=64)
    first_seen_at: datetime = timestamp_field()
