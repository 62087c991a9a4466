"""Announcing a notice: into the inbox, and out on the channels the citizen turned on.

A notice is announced by the transaction of the change it tells of: the inbox row, one
delivery per channel and address, and a job per delivery all commit or roll back with it.
Each delivery is addressed as it is made: an address or phone changed before it leaves (by
the citizen, or by whoever has their password) neither cancels nor redirects it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update as sql_update
from sqlmodel import Session, col, func, select

from vault import db, queue
from vault.keys import Keyring
from vault.kit.errors import NotFound
from vault.notices import sealing
from vault.notices.models import (
    Channel,
    Contact,
    ContactRole,
    Delivery,
    DeliveryState,
    Medium,
    NoticeKind,
    NoticePreference,
    Notification,
    Purpose,
)
from vault.notices.sealing import Destination

BODY_LABEL = b"dvlt/v1/notice-body"
PAGE_SIZE = 50


@dataclass(frozen=True)
class Notice:
    """What to tell. No paper's content, number or the national ID: a notice says what
    happened and links back into the vault, where the rest is behind the login."""

    kind: NoticeKind
    title: str
    body: str
    link: str | None
    dedup_key: str


@dataclass(frozen=True)
class NoticeView:
    id: uuid.UUID
    kind: NoticeKind
    title: str
    body: str
    link: str | None
    created_at: datetime
    read_at: datetime | None


def announce(
    session: Session,
    keyring: Keyring,
    citizen_id: uuid.UUID,
    notice: Notice,
    *,
    phone_on_file: Callable[[], str | None],
) -> Notification | None:
    """The notice, once: None when one with the same dedup key is already in the inbox.
    `phone_on_file` (the account's, in another package) is asked only for the webhook."""
    row = _noted(session, keyring, citizen_id, notice)
    if row is None:
        return None
    for channel, contact_id, to in _recipients(
        session, keyring, citizen_id, notice.kind, phone_on_file
    ):
        send(
            session,
            keyring,
            citizen_id,
            channel,
            Purpose.NOTICE,
            to,
            notification=row.id,
            contact=contact_id,
        )
    return row


def tell_replaced(
    session: Session,
    keyring: Keyring,
    citizen_id: uuid.UUID,
    notice: Notice,
    channel: Channel,
    old: Destination,
) -> None:
    """A notice that the email or phone notices went to was changed or removed: into the
    inbox, and to the old one alone, whatever the channels chosen: whoever made the change may
    have turned them off first."""
    row = _noted(session, keyring, citizen_id, notice)
    if row is not None:
        send(session, keyring, citizen_id, channel, Purpose.NOTICE, old, notification=row.id)


def _noted(
    session: Session, keyring: Keyring, citizen_id: uuid.UUID, notice: Notice
) -> Notification | None:
    known = session.exec(
        select(Notification.id).where(
            Notification.citizen_id == citizen_id, Notification.dedup_key == notice.dedup_key
        )
    ).first()
    if known is not None:
        return None
    row = Notification(
        citizen_id=citizen_id,
        kind=notice.kind,
        title=notice.title,
        sealed_body=b"",
        link=notice.link,
        dedup_key=notice.dedup_key,
    )
    row.sealed_body = sealing.seal(session, keyring, citizen_id, BODY_LABEL, row.id, notice.body)
    session.add(row)
    session.flush()
    return row


def send(
    session: Session,
    keyring: Keyring,
    citizen_id: uuid.UUID,
    channel: Channel,
    purpose: Purpose,
    to: Destination,
    *,
    notification: uuid.UUID | None = None,
    contact: uuid.UUID | None = None,
) -> Delivery:
    """A delivery to `to`, and the job that carries it out once this transaction commits."""
    delivery = Delivery(
        citizen_id=citizen_id,
        purpose=purpose,
        notification_id=notification,
        contact_id=contact,
        channel=channel,
        state=DeliveryState.PENDING,
    )
    delivery.sealed_to = sealing.seal_destination(session, keyring, citizen_id, delivery.id, to)
    session.add(delivery)
    session.flush()
    queue.enqueue(session, queue.Task.DELIVER, {"delivery": str(delivery.id)})
    return delivery


def preference(session: Session, citizen_id: uuid.UUID) -> NoticePreference:
    return session.get(NoticePreference, citizen_id) or NoticePreference(citizen_id=citizen_id)


def _recipients(
    session: Session,
    keyring: Keyring,
    citizen_id: uuid.UUID,
    kind: NoticeKind,
    phone_on_file: Callable[[], str | None],
) -> list[tuple[Channel, uuid.UUID | None, Destination]]:
    chosen = preference(session, citizen_id)
    contacts = session.exec(
        select(Contact).where(
            Contact.citizen_id == citizen_id, col(Contact.verified_at).is_not(None)
        )
    ).all()
    out: list[tuple[Channel, uuid.UUID | None, Destination]] = []
    own_email = None
    for contact in contacts:
        if contact.role is ContactRole.HELPER and not kind.reminder:
            continue
        address, _ = sealing.address(
            session, keyring, citizen_id, contact.id, contact.sealed_address
        )
        if contact.role is ContactRole.SELF:
            own_email = address
            if chosen.email_on:
                out.append((Channel.EMAIL, contact.id, Destination(email=address)))
        elif contact.medium is Medium.EMAIL:
            out.append((Channel.EMAIL, contact.id, Destination(email=address)))
        else:
            out.append((Channel.WEBHOOK, contact.id, Destination(phone=address)))
    if chosen.webhook_on:
        out.append((Channel.WEBHOOK, None, Destination(email=own_email, phone=phone_on_file())))
    return out


def list_for(
    session: Session,
    keyring: Keyring,
    citizen_id: uuid.UUID,
    *,
    unread: bool = False,
    limit: int = PAGE_SIZE,
) -> list[NoticeView]:
    """Newest first."""
    query = select(Notification).where(Notification.citizen_id == citizen_id)
    if unread:
        query = query.where(col(Notification.read_at).is_(None))
    rows = session.exec(
        query.order_by(col(Notification.created_at).desc(), col(Notification.id)).limit(limit)
    ).all()
    return [_view(session, keyring, row) for row in rows]


def unread_count(session: Session, citizen_id: uuid.UUID) -> int:
    return session.exec(
        select(func.count())
        .select_from(Notification)
        .where(Notification.citizen_id == citizen_id, col(Notification.read_at).is_(None))
    ).one()


def mark_read(
    session: Session, keyring: Keyring, citizen_id: uuid.UUID, notice_id: uuid.UUID
) -> NoticeView:
    """Idempotent: reading a read notice keeps the first moment it was read."""
    row = session.get(Notification, notice_id)
    if row is None or row.citizen_id != citizen_id:
        raise NotFound("No such notice.")
    if row.read_at is None:
        row.read_at = db.utc_now()
        session.add(row)
        session.flush()
    return _view(session, keyring, row)


def mark_all_read(session: Session, citizen_id: uuid.UUID) -> int:
    """Every unread notice of the citizen's, read now; how many there were."""
    result = session.execute(
        sql_update(Notification)
        .where(col(Notification.citizen_id) == citizen_id, col(Notification.read_at).is_(None))
        .values(read_at=db.utc_now())
    )
    session.flush()
    return result.rowcount  # type: ignore[attr-defined,no-any-return]


def body_of(session: Session, keyring: Keyring, row: Notification) -> str:
    return sealing.unseal(session, keyring, row.citizen_id, BODY_LABEL, row.id, row.sealed_body)


def _view(session: Session, keyring: Keyring, row: Notification) -> NoticeView:
    return NoticeView(
        id=row.id,
        kind=row.kind,
        title=row.title,
        body=body_of(session, keyring, row),
        link=row.link,
        created_at=db.aware(row.created_at),
        read_at=db.aware(row.read_at) if row.read_at else None,
    )
