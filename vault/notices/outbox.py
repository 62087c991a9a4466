"""What a delivery job sends, and what became of it. Nothing is sent inside a transaction: the
job reads what to send, sends, then records the outcome; a worker killed in between sends
again, under the same event id and Message-ID, which receivers use to drop the repeat.

A job runs these hundreds of times a second, so they are Core statements built once, run on
the connection the caller holds: the delivery (with where it goes, sealed in its row when it was
made), its notice, and the code waiting at its contact are one read, and the outcome one
conditional UPDATE. The ORM's sessions and entity loads around them cost a worker more CPU than
the statements themselves."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, DateTime, Row, Select, and_, bindparam, or_, update
from sqlalchemy import select as sql_select
from sqlmodel import Session, col, select

from vault import db
from vault.keys import Keyring
from vault.notices import contacts, inbox, sealing, texts
from vault.notices.models import (
    Channel,
    Contact,
    ContactRole,
    Delivery,
    DeliveryState,
    Medium,
    Notification,
    Purpose,
)


@dataclass(frozen=True)
class Outgoing:
    event_id: uuid.UUID
    citizen_id: uuid.UUID
    channel: Channel
    kind: str
    title: str
    body: str
    link: str | None
    created_at: datetime
    email: str | None
    phone: str | None


# The code of a verification is read at its contact, where it waits: none once the address is
# confirmed. A notice needs nothing of its contact, which may be gone.
_READ: Select[*tuple[Any, ...]] = (
    sql_select(
        col(Delivery.citizen_id),
        col(Delivery.purpose),
        col(Delivery.notification_id),
        col(Delivery.contact_id),
        col(Delivery.channel),
        col(Delivery.created_at),
        col(Delivery.sealed_to),
        col(Notification.id).label("notice_found"),
        col(Notification.title),
        col(Notification.link),
        col(Notification.kind),
        col(Notification.sealed_body),
        col(Contact.sealed_code),
    )
    .outerjoin(Notification, col(Notification.id) == Delivery.notification_id)
    .outerjoin(
        Contact,
        and_(col(Delivery.purpose) == Purpose.VERIFY, col(Contact.id) == Delivery.contact_id),
    )
    .where(
        col(Delivery.id) == bindparam("delivery"),
        col(Delivery.state) == DeliveryState.PENDING,
    )
)


# The embedded queue's mark of a delivery taken in hand (see `claim` and `lost`).
_MARK = (
    update(Delivery)
    .where(col(Delivery.id) == bindparam("delivery"), col(Delivery.state) == DeliveryState.PENDING)
    .values(claimed_at=bindparam("at", type_=DateTime(timezone=True)))
)
# The outcome's columns come with each call: `state`, `last_error`, and `sent_at` once sent.
_RECORD = (
    update(Delivery)
    .where(col(Delivery.id) == bindparam("delivery"), col(Delivery.state) == DeliveryState.PENDING)
    .values(attempts=col(Delivery.attempts) + 1)
)
# After the job's last run, which recorded its own try: no attempt more.
_GIVE_UP = (
    update(Delivery)
    .where(col(Delivery.id) == bindparam("delivery"), col(Delivery.state) == DeliveryState.PENDING)
    .values(state=DeliveryState.FAILED, last_error=bindparam("reason"))
)


def claim(connection: Connection, keyring: Keyring, delivery_id: uuid.UUID) -> Outgoing | None:
    """What to send; None once the delivery is done with (sent, refused for good, its notice
    gone, or its code confirmed). A repeat of a job already done reads nothing more, locks
    nothing and writes nothing.

    On SQLite the delivery is first marked as taken in hand, in the caller's transaction: the
    embedded queue loses a job with its process and finds the delivery again by that mark
    (`lost`). procrastinate puts a dead worker's jobs back itself: on PostgreSQL, the read."""
    if connection.dialect.name == "sqlite":
        marked = connection.execute(_MARK, {"delivery": delivery_id, "at": db.utc_now()})
        if marked.rowcount == 0:
            return None
    row = connection.execute(_READ, {"delivery": delivery_id}).first()
    if row is None:
        return None
    if row.purpose is Purpose.NOTICE and row.notice_found is None:
        return None
    if row.purpose is Purpose.VERIFY and row.sealed_code is None:
        return None
    # The key ring reads a citizen key through this session only when it has none cached.
    with Session(bind=connection) as keys:
        return _outgoing(keys, keyring, delivery_id, row)


def _addressed_now(session: Session, keyring: Keyring, row: Row[Any]) -> sealing.Destination:
    """A delivery made by a vault older than migration 0022 while the new one took over (an
    upgrade with the old processes still up): addressed as that vault's job would have, from
    its contact as it is now; the citizen's own gateway message gets the confirmed email, and
    no phone (the profile's is not this package's to read)."""
    contact = (
        session.get(Contact, row.contact_id)
        if row.contact_id is not None
        else session.exec(
            select(Contact).where(
                Contact.citizen_id == row.citizen_id,
                Contact.role == ContactRole.SELF,
                col(Contact.verified_at).is_not(None),
            )
        ).first()
    )
    if contact is None:
        return sealing.Destination()
    found, _ = sealing.address(session, keyring, row.citizen_id, contact.id, contact.sealed_address)
    if contact.medium is Medium.EMAIL:
        return sealing.Destination(email=found)
    return sealing.Destination(phone=found)


def _outgoing(
    session: Session, keyring: Keyring, delivery_id: uuid.UUID, row: Row[Any]
) -> Outgoing:
    to = (
        sealing.destination(session, keyring, row.citizen_id, delivery_id, row.sealed_to)
        if row.sealed_to is not None
        else _addressed_now(session, keyring, row)
    )
    if row.purpose is Purpose.VERIFY:
        code = contacts.code_of(session, keyring, row.citizen_id, row.contact_id, row.sealed_code)
        title, body, link, kind = texts.CODE_TITLE, texts.verification_code(code), None, "verify"
    else:
        title, link, kind = row.title, row.link, row.kind.value
        body = sealing.unseal(
            session, keyring, row.citizen_id, inbox.BODY_LABEL, row.notification_id, row.sealed_body
        )
    return Outgoing(
        event_id=delivery_id,
        citizen_id=row.citizen_id,
        channel=row.channel,
        kind=kind,
        title=title,
        body=body,
        link=link,
        created_at=db.aware(row.created_at),
        email=to.email,
        phone=to.phone,
    )


def record(
    connection: Connection, delivery_id: uuid.UUID, state: DeliveryState, error: str | None = None
) -> None:
    """One conditional UPDATE: a delivery no longer pending (another run of its job recorded
    it first, or it was erased) is left as it is."""
    outcome: dict[str, object] = {"delivery": delivery_id, "state": state, "last_error": error}
    if state is DeliveryState.SENT:
        outcome["sent_at"] = db.utc_now()
    connection.execute(_RECORD, outcome)


def give_up(connection: Connection, delivery_id: uuid.UUID, reason: str) -> None:
    """The job's last run failed: failed, not pending for ever, where it would keep the age of
    the oldest pending delivery growing and its alert firing over every later backlog."""
    connection.execute(_GIVE_UP, {"delivery": delivery_id, "reason": reason})


def pending_again(session: Session, delivery_id: uuid.UUID) -> None:
    """Given up on, and its job run again by hand (`vault jobs retry`): its run finds it to send.
    A refusal for good ends its job well, so a failed job's delivery was given up on."""
    session.execute(
        update(Delivery)
        .where(col(Delivery.id) == delivery_id, col(Delivery.state) == DeliveryState.FAILED)
        .values(state=DeliveryState.PENDING, last_error=None)
    )


def lost(session: Session, before: datetime) -> list[uuid.UUID]:
    """Pending deliveries made before `before` that no job has held since."""
    return list(
        session.exec(
            select(Delivery.id).where(
                Delivery.state == DeliveryState.PENDING,
                col(Delivery.created_at) < before,
                or_(col(Delivery.claimed_at).is_(None), col(Delivery.claimed_at) < before),
            )
        ).all()
    )
