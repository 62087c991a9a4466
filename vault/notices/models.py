"""Notices in a citizen's inbox, the addresses they go out to, and each delivery's fate."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, DateTime, ForeignKey, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from vault.db import state_type, timestamp_field


class NoticeKind(StrEnum):
    PAPER_EXPIRING = "paper_expiring"
    PAPER_EXPIRED = "paper_expired"
    DOSSIER_STATUS = "dossier_status"
    RESULT_DEPOSITED = "result_deposited"
    SHARES_DIGEST = "shares_digest"
    NEW_LOGIN = "new_login"
    ASSIST_STARTED = "assist_started"
    ASSIST_ENDED = "assist_ended"
    PASSWORD_RESET = "password_reset"
    RECOVERY_CODES_MADE = "recovery_codes_made"
    DELEGATION_OFFERED = "delegation_offered"
    DELEGATION_ACCEPTED = "delegation_accepted"
    GUARDIAN_JOINED = "guardian_joined"
    # To the email or phone notices went to, when it is changed or removed.
    ADDRESS_CHANGED = "address_changed"

    @property
    def reminder(self) -> bool:
        """What a helper the citizen named receives too: news of papers and dossiers, never
        of the account's security or of who looked at the papers."""
        return self in _REMINDERS


_REMINDERS = frozenset(
    {
        NoticeKind.PAPER_EXPIRING,
        NoticeKind.PAPER_EXPIRED,
        NoticeKind.DOSSIER_STATUS,
        NoticeKind.RESULT_DEPOSITED,
    }
)


class Channel(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"


class DeliveryState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    # Failed: the channel refused it for good (a bad address), or its job gave up after its last
    # retry. Skipped: the vault has no such channel set up.
    FAILED = "failed"
    SKIPPED = "skipped"


class Purpose(StrEnum):
    NOTICE = "notice"
    # The code that confirms an address before anything else is sent to it.
    VERIFY = "verify"


class ContactRole(StrEnum):
    SELF = "self"
    HELPER = "helper"


class Medium(StrEnum):
    EMAIL = "email"
    PHONE = "phone"


class Notification(SQLModel, table=True):
    """One notice in the inbox. The body is sealed under the citizen's key: it can name an
    agency, a procedure and what an officer wrote; the title is a fixed phrase per kind."""

    __table_args__ = (
        UniqueConstraint("citizen_id", "dedup_key"),
        Index("ix_notification_citizen_created", "citizen_id", "created_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    citizen_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("citizen.id", ondelete="CASCADE"), nullable=False)
    )
    kind: NoticeKind = Field(sa_type=state_type(NoticeKind, 32))
    title: str = Field(max_length=200)
    sealed_body: bytes = Field(sa_type=LargeBinary)
    link: str | None = Field(default=None, max_length=300)
    # What makes two announcements the same event: one notice however often it is announced.
    dedup_key: str = Field(max_length=160)
    created_at: datetime = timestamp_field()
    read_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class NoticePreference(SQLModel, table=True):
    __tablename__ = "notice_preference"

    citizen_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("citizen.id", ondelete="CASCADE"), primary_key=True)
    )
    email_on: bool = True
    webhook_on: bool = False
    # Days before a paper's expiry on which to remind, largest first: "30,7".
    expiry_days_before: str = Field(default="30,7", max_length=64)
    # Codes sent to addresses not yet confirmed, in the window that started then: a citizen
    # (or a stolen session) cannot make the vault write to strangers over and over.
    codes_window_started_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    codes_in_window: int = 0


class Contact(SQLModel, table=True):
    """An address notices go to: the citizen's own email, or a helper's email or phone. Used
    only once confirmed with the code sent to it, so the vault never writes to strangers."""

    __tablename__ = "notice_contact"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    citizen_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("citizen.id", ondelete="CASCADE"), index=True, nullable=False)
    )
    role: ContactRole = Field(sa_type=state_type(ContactRole, 16))
    medium: Medium = Field(sa_type=state_type(Medium, 16))
    # The address and the helper's name, sealed under the citizen's key.
    sealed_address: bytes = Field(sa_type=LargeBinary)
    verified_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    sealed_code: bytes | None = Field(default=None, sa_type=LargeBinary)
    code_expires_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    code_attempts: int = 0
    created_at: datetime = timestamp_field()


class Delivery(SQLModel, table=True):
    """One message to one address on one channel. Its id is the event id a receiver sees, the
    same on every retry, so a message sent twice (a worker killed after sending) is one."""

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    citizen_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("citizen.id", ondelete="CASCADE"), index=True, nullable=False)
    )
    purpose: Purpose = Field(sa_type=state_type(Purpose, 16))
    notification_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(ForeignKey("notification.id", ondelete="CASCADE"), nullable=True),
    )
    # The contact it was made for, which may be gone since: not a foreign key, since a contact
    # removed (by the citizen, or by whoever has their password) neither cancels nor redirects
    # what was addressed to it. None: the citizen's own phone and email (the webhook).
    contact_id: uuid.UUID | None = Field(default=None)
    # Where it goes (sealing.Destination), fixed when it is made. None only on deliveries done
    # with before migration 0022, which addressed those still pending.
    sealed_to: bytes | None = Field(default=None, sa_type=LargeBinary)
    channel: Channel = Field(sa_type=state_type(Channel, 16))
    state: DeliveryState = Field(sa_type=state_type(DeliveryState, 16), index=True)
    attempts: int = 0
    # A class of failure ("refused", "not configured"), never an address or a message.
    last_error: str | None = Field(default=None, max_length=200)
    created_at: datetime = timestamp_field()
    # When a job of the embedded queue last took it in hand: a pending delivery nobody holds and
    # no job waits for was lost with a killed process, and is queued again (see vault.jobs).
    # procrastinate puts back a dead worker's jobs itself: on PostgreSQL it stays empty.
    claimed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    sent_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
