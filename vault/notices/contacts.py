"""Where a citizen's notices go: the channels they chose, their email, and helpers' addresses.

An address is used only after the code sent to it has been typed back: the vault can never be
made to write to a stranger, and a helper (a child, a neighbour from the community tech team)
agrees by reading the code out to the citizen."""

from __future__ import annotations

import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import update as sql_update
from sqlmodel import Session, col, select

from vault import db
from vault.keys import Keyring
from vault.kit import text
from vault.kit.errors import Conflict, InvalidInput, NotFound, TooManyAttempts
from vault.notices import channels, inbox, sealing, texts
from vault.notices.models import (
    Channel,
    Contact,
    ContactRole,
    Delivery,
    Medium,
    NoticePreference,
    Purpose,
)
from vault.notices.sealing import Destination

CODE_LABEL = b"dvlt/v1/notice-code"
CODE_TTL = timedelta(minutes=30)
CODE_ATTEMPTS = 5
CODES_PER_WINDOW = 5
CODE_WINDOW = timedelta(hours=1)
MAX_HELPERS = 5
MAX_REMINDERS = 5


@dataclass(frozen=True)
class Helper:
    id: uuid.UUID
    medium: Medium
    address: str
    name: str | None
    verified: bool


@dataclass(frozen=True)
class Settings:
    """What GET /citizens/me/notifications shows."""

    email: str | None
    email_verified: bool
    email_on: bool
    webhook_on: bool
    expiry_days_before: list[int]
    helpers: list[Helper]


@dataclass(frozen=True)
class Address:
    """An address opened for sending, with the code to send if it is not yet confirmed."""

    medium: Medium
    address: str
    code: str | None


def reminder_days(preference: NoticePreference) -> list[int]:
    return [int(day) for day in preference.expiry_days_before.split(",") if day]


def read(session: Session, keyring: Keyring, citizen_id: uuid.UUID) -> Settings:
    chosen = inbox.preference(session, citizen_id)
    own = _own_email(session, citizen_id)
    helpers = session.exec(
        select(Contact)
        .where(Contact.citizen_id == citizen_id, Contact.role == ContactRole.HELPER)
        .order_by(col(Contact.created_at))
    ).all()
    return Settings(
        email=_address(session, keyring, own)[0] if own else None,
        email_verified=bool(own and own.verified_at),
        email_on=chosen.email_on,
        webhook_on=chosen.webhook_on,
        expiry_days_before=reminder_days(chosen),
        helpers=[_helper(session, keyring, contact) for contact in helpers],
    )


def update(
    session: Session,
    keyring: Keyring,
    citizen_id: uuid.UUID,
    *,
    email: str | None = None,
    clear_email: bool = False,
    email_on: bool | None = None,
    webhook_on: bool | None = None,
    expiry_days_before: list[int] | None = None,
) -> Settings:
    """Only what is given changes. A new email address waits for its code; the old one is
    dropped at once, so nothing more goes to an address the citizen took back, but what was
    already addressed to it still goes, and a confirmed one is told of the change: a thief with
    the password cannot turn the alerts of their own login away unnoticed."""
    chosen = inbox.preference(session, citizen_id)
    if email_on is not None:
        chosen.email_on = email_on
    if webhook_on is not None:
        chosen.webhook_on = webhook_on
    if expiry_days_before is not None:
        chosen.expiry_days_before = ",".join(str(d) for d in _checked_days(expiry_days_before))
    session.add(chosen)
    if clear_email or email is not None:
        own = _own_email(session, citizen_id)
        address = _checked_address(Medium.EMAIL, email) if email is not None else None
        # The same address given again while its code waits sends a new code: that is how a
        # citizen gets one after a lost message, an expired code or too many wrong tries.
        unchanged = (
            own is not None
            and own.verified_at is not None
            and address == _address(session, keyring, own)[0]
        )
        if own is not None and not unchanged:
            if own.verified_at is not None:
                _tell_replaced(session, keyring, own, removed=address is None)
            _drop(session, own)
        if address is not None and not unchanged:
            _new_contact(session, keyring, citizen_id, ContactRole.SELF, Medium.EMAIL, address)
    session.flush()
    return read(session, keyring, citizen_id)


def verify_email(session: Session, keyring: Keyring, citizen_id: uuid.UUID, code: str) -> Settings:
    own = _own_email(session, citizen_id)
    if own is None:
        raise Conflict("Give an email address first; the code is sent to it.")
    _confirm(session, keyring, own, code)
    return read(session, keyring, citizen_id)


def add_helper(
    session: Session,
    keyring: Keyring,
    citizen_id: uuid.UUID,
    *,
    medium: Medium,
    address: str,
    name: str | None,
) -> Helper:
    count = len(
        session.exec(
            select(Contact.id).where(
                Contact.citizen_id == citizen_id, Contact.role == ContactRole.HELPER
            )
        ).all()
    )
    if count >= MAX_HELPERS:
        raise Conflict(f"At most {MAX_HELPERS} helpers; remove one first.")
    checked = _checked_address(medium, address)
    label = text.one_line(name)[: text.MAX_NAME] or None
    contact = _new_contact(
        session, keyring, citizen_id, ContactRole.HELPER, medium, checked, name=label
    )
    return _helper(session, keyring, contact)


def verify_helper(
    session: Session, keyring: Keyring, citizen_id: uuid.UUID, helper_id: uuid.UUID, code: str
) -> Helper:
    contact = _owned_helper(session, citizen_id, helper_id)
    _confirm(session, keyring, contact, code)
    return _helper(session, keyring, contact)


def remove_helper(session: Session, citizen_id: uuid.UUID, helper_id: uuid.UUID) -> None:
    _drop(session, _owned_helper(session, citizen_id, helper_id))


def opened(session: Session, keyring: Keyring, contact: Contact) -> Address:
    """A contact's address, with the code that waits for it if any."""
    address, _ = _address(session, keyring, contact)
    code = None
    if contact.sealed_code is not None:
        code = code_of(session, keyring, contact.citizen_id, contact.id, contact.sealed_code)
    return Address(contact.medium, address, code)


def code_of(
    session: Session,
    keyring: Keyring,
    citizen_id: uuid.UUID,
    contact_id: uuid.UUID,
    sealed_code: bytes,
) -> str:
    """The code waiting for a contact, from its column: the delivery job reads it with its
    delivery rather than load the row."""
    return sealing.unseal(session, keyring, citizen_id, CODE_LABEL, contact_id, sealed_code)


def _new_contact(
    session: Session,
    keyring: Keyring,
    citizen_id: uuid.UUID,
    role: ContactRole,
    medium: Medium,
    address: str,
    *,
    name: str | None = None,
) -> Contact:
    _count_code(session, citizen_id)
    contact = Contact(citizen_id=citizen_id, role=role, medium=medium, sealed_address=b"")
    stored = address if name is None else f"{address}\n{name}"
    contact.sealed_address = sealing.seal(
        session, keyring, citizen_id, sealing.ADDRESS_LABEL, contact.id, stored
    )
    code = f"{secrets.randbelow(1_000_000):06d}"
    contact.sealed_code = sealing.seal(session, keyring, citizen_id, CODE_LABEL, contact.id, code)
    contact.code_expires_at = db.utc_now() + CODE_TTL
    session.add(contact)
    session.flush()
    if medium is Medium.EMAIL:
        channel, to = Channel.EMAIL, Destination(email=address)
    else:
        channel, to = Channel.WEBHOOK, Destination(phone=address)
    inbox.send(session, keyring, citizen_id, channel, Purpose.VERIFY, to, contact=contact.id)
    return contact


def _count_code(session: Session, citizen_id: uuid.UUID) -> None:
    chosen = inbox.preference(session, citizen_id)
    now = db.utc_now()
    started = chosen.codes_window_started_at
    if started is None or db.aware(started) + CODE_WINDOW <= now:
        chosen.codes_window_started_at, chosen.codes_in_window = now, 0
        started = now
    if chosen.codes_in_window >= CODES_PER_WINDOW:
        wait = int((db.aware(started) + CODE_WINDOW - now).total_seconds()) + 1
        raise TooManyAttempts(
            f"{CODES_PER_WINDOW} codes were sent within the hour; try again later.",
            retry_after=wait,
        )
    chosen.codes_in_window += 1
    session.add(chosen)


def _confirm(session: Session, keyring: Keyring, contact: Contact, code: str) -> None:
    if contact.verified_at is not None:
        return
    if contact.sealed_code is None or contact.code_expires_at is None:
        raise Conflict("No code is waiting for this address.")
    if contact.code_attempts >= CODE_ATTEMPTS or db.aware(contact.code_expires_at) < db.utc_now():
        raise TooManyAttempts(
            "This code can no longer be used; give the address again for a new one.",
            retry_after=0,
        )
    expected = opened(session, keyring, contact).code or ""
    if not hmac.compare_digest(expected.encode(), code.strip().encode()):
        _count_wrong_code(session, contact)
        raise InvalidInput("That is not the code that was sent.", field="code")
    contact.verified_at = db.utc_now()
    contact.sealed_code = None
    contact.code_expires_at = None
    session.add(contact)
    _drop_codes(session, contact)
    session.flush()


def _drop(session: Session, contact: Contact) -> None:
    """The notices already addressed to it still go where they were addressed."""
    _drop_codes(session, contact)
    session.delete(contact)
    session.flush()


def _drop_codes(session: Session, contact: Contact) -> None:
    """A code still queued for sending is of no use once the address is confirmed or gone."""
    for waiting in session.exec(
        select(Delivery).where(
            Delivery.contact_id == contact.id, Delivery.purpose == Purpose.VERIFY
        )
    ).all():
        session.delete(waiting)


def _tell_replaced(session: Session, keyring: Keyring, own: Contact, *, removed: bool) -> None:
    address, _ = _address(session, keyring, own)
    notice = texts.address_changed(uuid.uuid4(), db.utc_now(), Medium.EMAIL, removed=removed)
    inbox.tell_replaced(
        session, keyring, own.citizen_id, notice, Channel.EMAIL, Destination(email=address)
    )


def _count_wrong_code(session: Session, contact: Contact) -> None:
    """A wrong code counts whatever becomes of the transaction. The refusal rolls a request's
    unit of work back, and the count with it; it is then made again in a transaction of its
    own. A caller that commits instead keeps the count made here. Either way it counts once."""
    contact.code_attempts += 1
    session.add(contact)
    session.flush()
    engine = session.get_bind()
    contact_id = contact.id

    def count() -> None:
        with db.unit_of_work(engine) as own:  # type: ignore[arg-type]
            own.execute(
                sql_update(Contact)
                .where(col(Contact.id) == contact_id)
                .values(code_attempts=col(Contact.code_attempts) + 1)
            )

    db.after_rollback(session, count)


def _own_email(session: Session, citizen_id: uuid.UUID) -> Contact | None:
    return session.exec(
        select(Contact).where(Contact.citizen_id == citizen_id, Contact.role == ContactRole.SELF)
    ).first()


def _owned_helper(session: Session, citizen_id: uuid.UUID, helper_id: uuid.UUID) -> Contact:
    contact = session.get(Contact, helper_id)
    if (
        contact is None
        or contact.citizen_id != citizen_id
        or contact.role is not ContactRole.HELPER
    ):
        raise NotFound("No such helper.")
    return contact


def _address(session: Session, keyring: Keyring, contact: Contact) -> tuple[str, str | None]:
    return sealing.address(session, keyring, contact.citizen_id, contact.id, contact.sealed_address)


def _helper(session: Session, keyring: Keyring, contact: Contact) -> Helper:
    address, name = _address(session, keyring, contact)
    return Helper(contact.id, contact.medium, address, name, contact.verified_at is not None)


def _checked_address(medium: Medium, value: str) -> str:
    address = text.one_line(value)
    if medium is Medium.EMAIL:
        address = address.lower() if address.isascii() else address
        if len(address) > 254 or not channels.EMAIL_PATTERN.match(address):
            raise InvalidInput("That is not an email address.", field="email")
        return address
    # The rule of the profile's phone, so a number taken there is taken here.
    if not re.match(text.PHONE_PATTERN, address):
        raise InvalidInput("A phone number has 8 to 16 digits, with an optional +.", field="phone")
    return address.replace(" ", "")


def _checked_days(days: list[int]) -> list[int]:
    chosen = sorted(set(days), reverse=True)
    if len(chosen) > MAX_REMINDERS or any(not 1 <= day <= 365 for day in chosen):
        raise InvalidInput(
            f"Give up to {MAX_REMINDERS} numbers of days, each from 1 to 365.",
            field="expiry_days_before",
        )
    return chosen
