"""Every table of the vault. Only what queries need is in clear; the rest is sealed bytes."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from vault.db import utc_now


def _timestamp() -> Any:
    return Field(default_factory=utc_now, sa_type=DateTime(timezone=True))


class Citizen(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    # The login name; a 12-digit number printed on most papers a citizen holds.
    national_id: str = Field(max_length=12, unique=True)
    password_hash: str = Field(max_length=255)
    # Full name and phone, sealed under the citizen's own key.
    sealed_profile: bytes = Field(sa_type=LargeBinary)
    created_at: datetime = _timestamp()


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
    created_at: datetime = _timestamp()
    rewrapped_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class AccessToken(SQLModel, table=True):
    __tablename__ = "access_token"

    token_hash: str = Field(primary_key=True, max_length=64)
    citizen_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("citizen.id", ondelete="CASCADE"), index=True, nullable=False)
    )
    expires_at: datetime = Field(sa_type=DateTime(timezone=True), index=True)
    created_at: datetime = _timestamp()


class LoginThrottle(SQLModel, table=True):
    """Failed logins per key (an account or a client address), in a sliding window."""

    __tablename__ = "login_throttle"

    key: str = Field(primary_key=True, max_length=80)
    failures: int = 0
    window_started_at: datetime = _timestamp()
    blocked_until: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class Document(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    owner_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("citizen.id", ondelete="CASCADE"), nullable=False)
    )
    doc_type: str = Field(max_length=32)
    current_version: int = 1
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()

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
    trust: str = Field(max_length=16)
    issued_on: date | None = None
    expires_on: date | None = Field(default=None, index=True)
    # Title, document number, original file name and SHA-256, sealed under the data key.
    sealed_metadata: bytes = Field(sa_type=LargeBinary)
    # For trust "issued": who issued it, its detached signature over the SHA-256 of the paper,
    # and the issuer's public key as it was when the paper was deposited.
    issuer_agency_id: uuid.UUID | None = Field(default=None, foreign_key="agency.id")
    signature: bytes | None = Field(default=None, sa_type=LargeBinary)
    signer_key_pem: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = _timestamp()


class Agency(SQLModel, table=True):
    """A receiving agency, registered by an operator. Its client secret is stored only hashed."""

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=200)
    # Local government has two tiers since July 2025: commune and province; plus central bodies.
    level: str = Field(default="commune", max_length=16)
    client_id: str = Field(max_length=64, unique=True)
    secret_hash: str = Field(max_length=64)
    created_at: datetime = _timestamp()
    secret_rotated_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    disabled_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    # The key that signs the papers this agency issues (Ed25519 or ECDSA P-256), PEM.
    signing_key_pem: str | None = Field(default=None, sa_type=Text)


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
    created_at: datetime = _timestamp()
    disabled_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


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
    created_at: datetime = _timestamp()


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
    revoked_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    created_at: datetime = _timestamp()


class GrantDocument(SQLModel, table=True):
    """A paper in a grant, pinned to the version shared; deleting the paper removes the row."""

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
    outcome: str = Field(max_length=16)
    reason: str | None = Field(default=None, max_length=40)
    document_id: uuid.UUID | None = None
    grant_id: uuid.UUID | None = Field(default=None, index=True)
    agency_id: uuid.UUID | None = None
    details: str = "{}"
    prev_hash: str = Field(max_length=64)
    entry_hash: str = Field(max_length=64)

    __table_args__ = (UniqueConstraint("chain", "seq"),)


class Procedure(SQLModel, table=True):
    """An administrative procedure (thủ tục hành chính) and the papers its dossier needs."""

    code: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=300)
    name_en: str | None = Field(default=None, max_length=300)
    agency_level: str = Field(max_length=16)
    result_doc_type: str | None = Field(default=None, max_length=32)
    # The requirements and form fields as validated JSON (see vault/procedures.py).
    requirements: str = Field(sa_type=Text)
    form_fields: str = Field(sa_type=Text)
    updated_at: datetime = _timestamp()


class Dossier(SQLModel, table=True):
    """A citizen's application (hồ sơ) for one procedure at one agency."""

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    citizen_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("citizen.id", ondelete="CASCADE"), index=True, nullable=False)
    )
    procedure_code: str = Field(foreign_key="procedure.code", max_length=32)
    agency_id: uuid.UUID = Field(foreign_key="agency.id", index=True)
    status: str = Field(max_length=24)
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
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()
    submitted_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    closed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))

    __table_args__ = (Index("ix_dossier_agency_status", "agency_id", "status"),)


class DossierAttachment(SQLModel, table=True):
    """One required paper of a dossier: from the vault (reused) or uploaded for it."""

    __tablename__ = "dossier_attachment"

    dossier_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("dossier.id", ondelete="CASCADE"), primary_key=True)
    )
    doc_type: str = Field(primary_key=True, max_length=32)
    document_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("document.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    version: int
    reused: bool


class DossierEvent(SQLModel, table=True):
    """The state history of a dossier; notes are sealed under the citizen's key."""

    __tablename__ = "dossier_event"

    id: int | None = Field(
        default=None, primary_key=True, sa_type=BigInteger().with_variant(Integer, "sqlite")
    )
    dossier_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("dossier.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    status: str = Field(max_length=24)
    actor_type: str = Field(max_length=16)
    actor: str | None = Field(default=None, max_length=64)
    sealed_note: bytes | None = Field(default=None, sa_type=LargeBinary)
    at: datetime = _timestamp()
