"""Citizen accounts: registration, login with throttling, access tokens, erasure."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError as RowConflict
from sqlmodel import Session, col, select

from vault import audit, crypto, db
from vault.accounts import acting, devices, logins, national_id
from vault.accounts.models import AccessToken, Citizen, EndReason
from vault.keys import Keyring, national_ids
from vault.kit import text
from vault.kit.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound
from vault.notices import inbox, texts
from vault.notices.models import Channel, Medium, Notification
from vault.notices.sealing import Destination

MAX_ADDRESS = 300
PHONE_PATTERN = text.PHONE_PATTERN


@dataclass(frozen=True)
class Profile:
    """What the vault knows of the citizen beyond the number: sealed, used to prefill forms."""

    full_name: str
    phone: str | None = None
    date_of_birth: date | None = None
    address: str | None = None


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_in: int


def register(
    session: Session,
    keyring: Keyring,
    *,
    national_id_number: str,
    full_name: str,
    password: str | None,
    phone: str | None = None,
) -> Citizen:
    """A new account; with `password` None, one nobody can log in to until a password reset
    gives it one (a child's vault, opened by a parent)."""
    number = national_id.validate(national_id_number).encode()
    checked = _checked(Profile(full_name, phone))
    # Before the number is looked up: a malformed request says nothing of who has a vault.
    password_hash = logins.NO_PASSWORD if password is None else logins.hash_password(password)
    lookup = keyring.national_id_index(session, number)
    if session.exec(select(Citizen.id).where(Citizen.national_id_index == lookup)).first():
        raise Conflict("An account with this personal identification number already exists.")
    citizen = Citizen(
        national_id_index=lookup,
        sealed_national_id=b"",
        password_hash=password_hash,
        sealed_profile=b"",
    )
    kek = keyring.create_citizen_key(session, citizen.id)
    citizen.sealed_national_id = national_ids.seal(kek, citizen.id, number)
    citizen.sealed_profile = _seal_profile(kek, citizen.id, checked)
    session.add(citizen)
    try:
        session.flush()
    except RowConflict:
        raise Conflict(
            "An account with this personal identification number already exists."
        ) from None
    return citizen


def by_national_id(session: Session, keyring: Keyring, national_id_number: str) -> Citizen | None:
    lookup = keyring.national_id_index(session, national_id_number.strip().encode())
    return session.exec(select(Citizen).where(Citizen.national_id_index == lookup)).first()


def national_id_of(session: Session, keyring: Keyring, citizen: Citizen) -> str:
    _, kek = keyring.citizen_key(session, citizen.id)
    return national_ids.unseal(kek, citizen.id, citizen.sealed_national_id).decode()


def profile(session: Session, keyring: Keyring, citizen: Citizen) -> Profile:
    data = _opened_profile(session, keyring, citizen.id, citizen.sealed_profile)
    born = data.get("date_of_birth")
    return Profile(
        full_name=data["full_name"],
        phone=data.get("phone"),
        date_of_birth=date.fromisoformat(born) if born else None,
        address=data.get("address"),
    )


def announce(
    session: Session, keyring: Keyring, citizen_id: uuid.UUID, notice: inbox.Notice
) -> Notification | None:
    """`inbox.announce`, with the phone on file, which is the account's: the gateway's message
    is addressed to it now, so a phone changed before the message leaves does not get it."""

    def phone_on_file() -> str | None:
        return profile(session, keyring, session.get_one(Citizen, citizen_id)).phone

    return inbox.announce(session, keyring, citizen_id, notice, phone_on_file=phone_on_file)


def _opened_profile(
    session: Session, keyring: Keyring, citizen_id: uuid.UUID, sealed_profile: bytes
) -> dict[str, Any]:
    _, kek = keyring.citizen_key(session, citizen_id)
    aad = crypto.profile_aad(citizen_id=citizen_id)
    opened: dict[str, Any] = json.loads(crypto.open_box(_profile_key(kek), sealed_profile, aad=aad))
    return opened


def update_profile(
    session: Session, keyring: Keyring, citizen: Citizen, changes: dict[str, Any]
) -> Profile:
    """Apply the given fields; a name cannot be emptied, a birth date must fit the number. The
    phone replaced or removed is told of it, as a replaced notification email is (see
    `inbox.tell_replaced`)."""
    before = profile(session, keyring, citizen)
    updated = _checked(replace(before, **changes))
    born = updated.date_of_birth
    if born is not None and born.year != national_id.birth_year(
        national_id_of(session, keyring, citizen)
    ):
        raise InvalidInput(
            "This birth date does not match the year in the identification number.",
            field="date_of_birth",
        )
    _, kek = keyring.citizen_key(session, citizen.id)
    citizen.sealed_profile = _seal_profile(kek, citizen.id, updated)
    session.add(citizen)
    if before.phone is not None and updated.phone != before.phone:
        removed = updated.phone is None
        notice = texts.address_changed(uuid.uuid4(), db.utc_now(), Medium.PHONE, removed=removed)
        old = Destination(phone=before.phone)
        inbox.tell_replaced(session, keyring, citizen.id, notice, Channel.WEBHOOK, old)
    return updated


def _checked(value: Profile) -> Profile:
    """The same rules whichever way the profile arrives (the API, a page): it prefills the
    forms of every dossier, so a value no form would take must not get in."""
    full_name = text.one_line(value.full_name)
    phone = text.one_line(value.phone) or None
    address = text.one_line(value.address) or None
    if not full_name:
        raise InvalidInput("The full name is required.", field="full_name")
    if len(full_name) > text.MAX_NAME:
        raise InvalidInput(f"A name has at most {text.MAX_NAME} characters.", field="full_name")
    if phone is not None and not re.match(PHONE_PATTERN, phone):
        raise InvalidInput("A phone number has 8 to 16 digits, with an optional +.", field="phone")
    if address is not None and len(address) > MAX_ADDRESS:
        raise InvalidInput(f"An address has at most {MAX_ADDRESS} characters.", field="address")
    return replace(value, full_name=full_name, phone=phone, address=address)


def _seal_profile(kek: bytes, citizen_id: uuid.UUID, value: Profile) -> bytes:
    data = json.dumps(
        {
            "full_name": value.full_name,
            "phone": value.phone,
            "date_of_birth": value.date_of_birth.isoformat() if value.date_of_birth else None,
            "address": value.address,
        }
    ).encode()
    return crypto.seal(_profile_key(kek), data, aad=crypto.profile_aad(citizen_id=citizen_id))


def _profile_key(kek: bytes) -> bytes:
    return crypto.subkey(kek, b"dvlt/v1/profile-key")


# Sign-ups one client address may try in an hour, refused ones included: a refusal tells whether
# a number has a vault, which must not be asked wholesale. Generous: many citizens share an
# address behind a carrier's NAT or a commune office's router.
SIGNUPS = logins.ThrottlePolicy(
    account_failures=60, window=timedelta(hours=1), block=timedelta(hours=1)
)


def count_signup(session: Session, *, client: str) -> None:
    """A sign-up, counted in the caller's own unit of work before it is tried (see
    logins.spend); a throttled address is refused here."""
    logins.spend(
        session,
        budget="signup",
        of=client,
        policy=SIGNUPS,
        refusal="Too many sign-ups from this address; wait before trying again.",
    )


def count_login(
    session: Session, keyring: Keyring, *, national_id_number: str, client: str
) -> logins.Attempt:
    """A login attempt, counted (see logins.Attempt); a throttled caller is refused here. The
    throttle counts by blind index: a hash of the bare number in `login_throttle` would give
    the number away to anyone who enumerates them."""
    lookup = keyring.national_id_index(session, national_id_number.strip().encode())
    return _attempt(session, lookup, client)


def count_login_of(session: Session, citizen_id: uuid.UUID, *, client: str) -> logins.Attempt:
    """A password typed for a known account elsewhere than the login page (the counter's
    consent screen), counted against the same throttle as its logins."""
    citizen = session.get(Citizen, citizen_id)
    if citizen is None:
        raise NotFound("No such citizen.")
    return _attempt(session, citizen.national_id_index, client)


def _attempt(session: Session, lookup: bytes, client: str) -> logins.Attempt:
    return logins.Attempt(session, account=f"citizen:{lookup.hex()}", client=client)


def authenticate(
    session: Session,
    keyring: Keyring,
    *,
    attempt: logins.Attempt,
    national_id_number: str,
    password: str,
    user_agent: str = "",
) -> Citizen:
    """The citizen whose password this is; refused otherwise. `attempt` is this login,
    counted by `count_login` before the password is looked at. A first login from a device
    (`user_agent`) is announced to the citizen."""
    citizen = by_national_id(session, keyring, national_id_number)
    if logins.verify(citizen.password_hash if citizen else None, password):
        assert citizen is not None
        attempt.succeeded(session)
        news = devices.note_login(session, citizen, user_agent)
        if news is not None:
            announce(session, keyring, citizen.id, news)
        return citizen
    attempt.failed(
        session,
        audit.Event(
            "auth.login_failed",
            subject=citizen.id if citizen else None,
            actor_type="anonymous",
            outcome=audit.Outcome.DENIED,
        ),
    )
    raise AuthenticationFailed("Wrong personal identification number or password.")


def issue_token(session: Session, citizen: Citizen, *, ttl_seconds: int) -> IssuedToken:
    token = crypto.new_token()
    now = db.utc_now()
    session.execute(
        delete(AccessToken).where(
            col(AccessToken.citizen_id) == citizen.id, col(AccessToken.expires_at) < now
        )
    )
    session.add(
        AccessToken(
            token_hash=crypto.hash_token(token),
            citizen_id=citizen.id,
            expires_at=now + timedelta(seconds=ttl_seconds),
        )
    )
    return IssuedToken(token=token, expires_in=ttl_seconds)


def citizen_for_token(session: Session, token: str) -> Citizen | None:
    row = session.exec(
        select(Citizen, AccessToken.expires_at)
        .join(AccessToken, col(AccessToken.citizen_id) == Citizen.id)
        .where(AccessToken.token_hash == crypto.hash_token(token))
    ).first()
    if row is None or db.aware(row[1]) <= db.utc_now():
        return None
    return row[0]


def log_out(session: Session, token: str) -> None:
    """The token stops working, and so do the acting sessions its citizen holds on others'
    vaults: logging out of a shared computer leaves nothing open."""
    citizen = citizen_for_token(session, token)
    if citizen is not None:
        acting.end_held(session, EndReason.ACTOR, delegate_id=citizen.id)
    session.execute(
        delete(AccessToken).where(col(AccessToken.token_hash) == crypto.hash_token(token))
    )
