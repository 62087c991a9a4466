"""Requests to act for a citizen, the consent they wait for, and certified copies."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    LargeBinary,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from vault.accounts.models import IdentityCheck
from vault.db import state_type, timestamp_field

__all__ = ["AssistRequest", "ConsentMethod", "IdentityCheck", "RequestStatus"]


class RequestStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"
    EXPIRED = "expired"
    # Five wrong passwords typed on the counter's consent screen.
    LOCKED = "locked"
    # Its acting session was opened; a request opens one session only.
    USED = "used"
    # The officer took it back before it was used.
    WITHDRAWN = "withdrawn"


class ConsentMethod(StrEnum):
    CITIZEN_SESSION = "citizen_session"
    COUNTER_PASSWORD = "counter_password"


class AssistRequest(SQLModel, table=True):
    """An officer's request to act for a citizen, pending until the citizen answers."""

    __tablename__ = "assist_request"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    citizen_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("citizen.id", ondelete="CASCADE"), index=True, nullable=False)
    )
    officer_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("officer.id", ondelete="CASCADE"), index=True, nullable=False)
    )
    agency_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("agency.id", ondelete="CASCADE"), nullable=False)
    )
    scopes: str = Field(max_length=200)
    minutes: int
    identity_check: IdentityCheck = Field(sa_type=state_type(IdentityCheck, 16))
    # The officer's note, sealed under the citizen's key: it may name the procedure or a person.
    sealed_note: bytes | None = Field(default=None, sa_type=LargeBinary)
    status: RequestStatus = Field(sa_type=state_type(RequestStatus, 16))
    password_failures: int = 0
    created_at: datetime = timestamp_field()
    expires_at: datetime = Field(sa_type=DateTime(timezone=True))
    decided_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    consent: ConsentMethod | None = Field(default=None, sa_type=state_type(ConsentMethod, 24))
    acting_session_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(
            ForeignKey("acting_session.id", ondelete="SET NULL"), nullable=True, unique=True
        ),
    )


class Certification(SQLModel, table=True):
    """An officer's certified copy (chứng thực bản sao từ bản chính) of one version of a paper:
    the exact statement the agency's key signed, and that signature.

    The statement names the paper's SHA-256, which the vault otherwise keeps sealed, so it is
    sealed too, under a key derived from that version's data key: it is shredded with the
    paper, and a copy moved onto another row does not open."""

    __tablename__ = "certification"
    __table_args__ = (
        ForeignKeyConstraint(
            ["document_id", "version"],
            ["document_version.document_id", "document_version.version"],
            ondelete="CASCADE",
        ),
        Index("ix_certification_document_version", "document_id", "version"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    document_id: uuid.UUID
    version: int
    agency_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("agency.id", ondelete="CASCADE"), nullable=False)
    )
    officer_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(ForeignKey("officer.id", ondelete="SET NULL"), nullable=True),
    )
    key_id: str = Field(
        sa_column=Column(ForeignKey("agency_key.key_id"), nullable=False, index=True)
    )
    sealed_statement: bytes = Field(sa_type=LargeBinary)
    signature: bytes = Field(sa_type=LargeBinary)
    # The officer's note, sealed like the statement: it may name a person or a procedure.
    sealed_note: bytes | None = Field(default=None, sa_type=LargeBinary)
    certified_at: datetime = timestamp_field()


class DelegationKind(StrEnum):
    # A citizen chose someone to act for them, who accepted.
    PERSONAL = "personal"
    # A parent or guardian keeps a child's vault until the child's 18th birthday.
    GUARDIAN = "guardian"


class DelegationEnder(StrEnum):
    """Who ended a delegation."""

    # The citizen who gave it revoked it.
    CITIZEN = "citizen"
    # The delegate declined it or gave it up.
    DELEGATE = "delegate"


class DelegationStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    DECLINED = "declined"
    REVOKED = "revoked"
    # Stored once known; a pending or active row past `ends_at` reads as expired anyway.
    EXPIRED = "expired"


class Delegation(SQLModel, table=True):
    """A citizen (`citizen_id`) lets another (`delegate_id`) act for them within scopes, until
    the end of `expires_on` (Vietnam's day), once the delegate has accepted. Each acting
    session it opens has it as its origin."""

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    citizen_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("citizen.id", ondelete="CASCADE"), index=True, nullable=False)
    )
    delegate_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("citizen.id", ondelete="CASCADE"), index=True, nullable=False)
    )
    kind: DelegationKind = Field(sa_type=state_type(DelegationKind, 16))
    scopes: str = Field(max_length=200)
    status: DelegationStatus = Field(sa_type=state_type(DelegationStatus, 16))
    # The last day it holds; it ends at the next midnight in Vietnam (`ends_at`).
    expires_on: date
    ends_at: datetime = Field(sa_type=DateTime(timezone=True))
    created_at: datetime = timestamp_field()
    accepted_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    ended_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    ended_by: DelegationEnder | None = Field(default=None, sa_type=state_type(DelegationEnder, 16))


class DependentVault(SQLModel, table=True):
    """A vault opened by a parent for a child: it has no usable password until the child
    claims it at the counter, and it stays a dependent's (a second parent may join it) even
    after. An adult's own account never has a row here."""

    __tablename__ = "dependent_vault"

    citizen_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("citizen.id", ondelete="CASCADE"), primary_key=True)
    )
    created_at: datetime = timestamp_field()


class Kinship(StrEnum):
    MOTHER = "mother"
    FATHER = "father"
    GUARDIAN = "guardian"


class Guardianship(SQLModel, table=True):
    """One parent's (or guardian's) hold on a child's vault: the delegation that lets them act,
    and the birth certificate among their own papers they showed for it."""

    __table_args__ = (UniqueConstraint("child_id", "guardian_id"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    child_id: uuid.UUID = Field(
        sa_column=Column(
            ForeignKey("dependent_vault.citizen_id", ondelete="CASCADE"), index=True, nullable=False
        )
    )
    guardian_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("citizen.id", ondelete="CASCADE"), index=True, nullable=False)
    )
    delegation_id: uuid.UUID = Field(
        sa_column=Column(
            ForeignKey("delegation.id", ondelete="CASCADE"), unique=True, nullable=False
        )
    )
    relationship: Kinship = Field(sa_type=state_type(Kinship, 16))
    # A paper names one child: the same certificate cannot vouch for a second one. Deleting
    # the paper later does not end the guardianship.
    birth_certificate_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(
            ForeignKey("document.id", ondelete="SET NULL"), unique=True, nullable=True
        ),
    )
    created_at: datetime = timestamp_field()
