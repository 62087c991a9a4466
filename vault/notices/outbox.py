"""What a delivery job sends, and what became of it. Nothing is sent inside a transaction: the
job reads what to send, sends, then records the outcome; a worker killed in between sends
again, under the same event id and Message-ID, which receivers use to drop the repeat."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, update
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
    # The citizen's own phone on file is in their profile, which the caller opens.
    own_phone: bool


_CLAIMED = (
    col(Delivery.id),
    col(Delivery.citizen_id),
    col(Delivery.purpose),
    col(Delivery.notification_id),
    col(Delivery.contact_id),
    col(Delivery.channel),
    col(Delivery.created_at),
)


def claim(session: Session, keyring: Keyring, delivery_id: uuid.UUID) -> Outgoing | None:
    """What to send, the delivery marked as taken in hand; None once it is done with (sent,
    refused for good, or its address gone). The mark is one conditional UPDATE returning the
    row, so a repeat of a job already done reads nothing, locks nothing and writes nothing; a
    notice is read with the id of the citizen's own confirmed address in the same statement.
    Both go to the session's connection as plain SQL: at hundreds of jobs a second the ORM's
    bulk update and entity loading cost a worker more CPU than the statements themselves."""
    connection = session.connection()
    delivery = connection.execute(
        update(Delivery)
        .where(col(Delivery.id) == delivery_id, col(Delivery.state) == DeliveryState.PENDING)
        .values(claimed_at=db.utc_now())
        .returning(*_CLAIMED)
    ).first()
    if delivery is None:
        return None
    contact = session.get(Contact, delivery.contact_id) if delivery.contact_id else None
    address = contacts.opened(session, keyring, contact) if contact else None
    own_id: uuid.UUID | None = None
    if delivery.purpose is Purpose.VERIFY:
        if address is None or address.code is None:
            return None
        title, body, link, kind = (
            texts.CODE_TITLE,
            texts.verification_code(address.code),
            None,
            "verify",
        )
    else:
        notice = connection.execute(
            sql_select(
                col(Notification.title),
                col(Notification.link),
                col(Notification.kind),
                col(Notification.sealed_body),
                col(Contact.id),
            )
            .outerjoin(
                Contact,
                (col(Contact.citizen_id) == Notification.citizen_id)
                & (col(Contact.role) == ContactRole.SELF)
                & col(Contact.verified_at).is_not(None),
            )
            .where(Notification.id == delivery.notification_id)
        ).first()
        if notice is None:
            return None
        title, link, notice_kind, sealed_body, own_id = notice
        kind = notice_kind.value
        body = sealing.unseal(
            session,
            keyring,
            delivery.citizen_id,
            inbox.BODY_LABEL,
            delivery.notification_id,
            sealed_body,
        )
    email = phone = None
    if address is not None:
        email = address.address if address.medium is Medium.EMAIL else None
        phone = address.address if address.medium is Medium.PHONE else None
    elif delivery.channel is Channel.WEBHOOK and own_id is not None:
        own = session.get(Contact, own_id)
        email = contacts.opened(session, keyring, own).address if own is not None else None
    return Outgoing(
        event_id=delivery.id,
        citizen_id=delivery.citizen_id,
        channel=delivery.channel,
        kind=kind,
        title=title,
        body=body,
        link=link,
        created_at=db.aware(delivery.created_at),
        email=email,
        phone=phone,
        own_phone=contact is None,
    )


def record(
    session: Session, delivery_id: uuid.UUID, state: DeliveryState, error: str | None = None
) -> None:
    """One conditional UPDATE, on the session's connection (see `claim`): a delivery no
    longer pending (another run of its job recorded it first, or it was erased) is left as it
    is."""
    outcome: dict[str, object] = {"state": state, "last_error": error}
    if state is DeliveryState.SENT:
        outcome["sent_at"] = db.utc_now()
    session.connection().execute(
        update(Delivery)
        .where(col(Delivery.id) == delivery_id, col(Delivery.state) == DeliveryState.PENDING)
        .values(attempts=col(Delivery.attempts) + 1, **outcome)
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
