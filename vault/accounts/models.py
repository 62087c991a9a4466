"""Citizens, their sessions and login throttles, reset codes, and counter officers."""

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


class IdentityCheck(StrEnum):
    """How the officer made sure the person in front of them is the citizen."""

    CHIP_CARD = "chip_card"
    CARD_PHOTO = "card_photo"
    VNEID = "vneid"


class ResetKind(StrEnum):
    # Given at the counter by an officer who checked the citizen's identity; 15 minutes.
    OFFICER = "officer"
    # One of the ten recovery codes the citizen printed; no expiry.
    SELF = "self"


class ResetCode(SQLModel, table=True):
    """A one-time code that sets a new password without the old one (vault.accounts.recovery).
    Only a keyed hash of the code is kept."""

    __tablename__ = "reset_code"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    citizen_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("citizen.id", ondelete="CASCADE"), index=True, nullable=False)
    )
    kind: ResetKind = Field(sa_type=state_type(ResetKind, 16))
    code_hash: str = Field(max_length=64)
    # Officer codes: who gave it, how they checked the person (the audit log has it too).
    officer_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(ForeignKey("officer.id", ondelete="SET NULL"), index=True, nullable=True),
    )
    identity_check: IdentityCheck | None = Field(
        default=None, sa_type=state_type(IdentityCheck, 16)
    )
    created_at: datetime = timestamp_field()
    expires_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    used_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    # Replaced by a newer code, or by a reset done with another one.
    voided_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    # Officer codes: reset attempts on the account while it was live, counted before the code
    # is looked at; past five it opens nothing, even when typed right.
    tries: int = 0


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


class Scope(StrEnum):
    """What someone acting for a citizen may do. Anything else a citizen can do (their password,
    phone or email, erasure, delegations, consent, the whole vault's export) needs the citizen."""

    DOCUMENTS_READ = "documents:read"
    DOCUMENTS_WRITE = "documents:write"
    GRANTS_WRITE = "grants:write"
    DOSSIERS_WRITE = "dossiers:write"


class ActorKind(StrEnum):
    OFFICER = "officer"
    DELEGATE = "delegate"


class EndReason(StrEnum):
    CITIZEN = "citizen"
    ACTOR = "actor"
    EXPIRED = "expired"
    RESET = "reset"
    REVOKED = "revoked"


class ActingSession(SQLModel, table=True):
    """A bearer token for a citizen's API held by someone else: an officer at the counter
    (after the citizen's consent) or a delegate the citizen chose. Its subject is the citizen,
    its actor the holder; every audit event it causes names both."""

    __tablename__ = "acting_session"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    citizen_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("citizen.id", ondelete="CASCADE"), index=True, nullable=False)
    )
    kind: ActorKind = Field(sa_type=state_type(ActorKind, 16))
    officer_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(ForeignKey("officer.id", ondelete="CASCADE"), index=True, nullable=True),
    )
    delegate_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(ForeignKey("citizen.id", ondelete="CASCADE"), index=True, nullable=True),
    )
    # The consent it comes from: an assist request or a delegation.
    origin_id: uuid.UUID = Field(index=True)
    scopes: str = Field(max_length=200)
    token_hash: str = Field(max_length=64, unique=True)
    started_at: datetime = timestamp_field()
    expires_at: datetime = Field(sa_type=DateTime(timezone=True))
    ended_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    end_reason: EndReason | None = Field(default=None, sa_type=state_type(EndReason, 16))
