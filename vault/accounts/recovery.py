"""A forgotten password: a new one set with a one-time reset code instead of the old one.

Two kinds of code open a reset (`POST /auth/reset`), both 8 characters of `ALPHABET`:

- an officer's code, given at the counter once the officer has checked the citizen's identity
  (chip card, card photo or VNeID): valid 15 minutes, one live code per account (a new one
  voids the last), and dead after five reset attempts on the account while it is live, even
  when typed right then;
- the citizen's own recovery codes, ten printed in advance: no expiry, each used once, a new
  set voiding the last.

A reset ends every way in that the old password opened: the citizen's API tokens and page
sessions (both `access_token` rows) and every acting session on the vault. The papers stay:
their keys hang from the citizen key, which the password never touched.

How wrong codes are counted. An attempt is counted before the code is looked at, in a unit
of work of its own (as `logins.Attempt` does for a login), so a refusal that rolls its request
back still counts and parallel guesses cannot outrun the count:
- against the account, in `login_throttle` under a key of its own ("reset:", not the login's):
  five failures in 15 minutes block resets of the account, whatever the code, for 15 minutes;
  and the client address's budget, shared with logins. Recovery codes are never spent by
  someone else's guesses (a stranger who knows the number could otherwise void the printed
  sheet); five guesses at 40 bits every 15 minutes is nothing against ten codes.
- against the live officer code: each attempt on the account is one of its `tries`; past five
  it is dead. The officer gives another (which also lifts the account's block: they have seen
  the person).
A wrong number and a wrong code get the same 401 as a wrong password at login.

How codes are kept. 8 characters of 31 are about 40 bits: a plain SHA-256 of one falls to a
brute force in minutes. Argon2 would cost a slow hash per printed code at every attempt (ten of
them). So a code is kept as HMAC-SHA-256 under a key derived from the citizen's own key, which
exists only wrapped under the master key, outside the database: a stolen database gives nothing
to brute force against, and whoever holds the master key too can already read the papers
themselves. The citizen key never rotates (rotation rewraps it), so printed codes outlive
rotations; erasure destroys it, and the codes with it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, update
from sqlmodel import Session, col, func, or_, select

from vault import audit, crypto, db
from vault.accounts import acting, citizens, logins
from vault.accounts.models import (
    AccessToken,
    Citizen,
    EndReason,
    IdentityCheck,
    ResetCode,
    ResetKind,
)
from vault.accounts.officers import OfficerSession
from vault.keys import Keyring
from vault.kit.errors import NotFound, TooManyAttempts, WrongResetCode
from vault.notices import texts

# No 0/O, 1/I/L: read aloud at a counter, copied from paper.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 8
OFFICER_CODE_LIFETIME = timedelta(minutes=15)
RECOVERY_CODES = 10
MAX_TRIES = 5
# An officer gives codes to people in front of them; more than this in an hour is not a counter.
OFFICER_CODES_PER_HOUR = 30
_LABEL = b"dvlt/v1/reset-code"
_REFUSED = "Wrong personal identification number or reset code."


@dataclass(frozen=True)
class IssuedCode:
    code: str
    expires_at: datetime


@dataclass(frozen=True)
class ResetAttempt:
    """One reset attempt, counted by `begin_reset`."""

    login: logins.Attempt


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalised(code: str) -> str:
    """As typed: any case, spaces or dashes between groups."""
    return "".join(code.split()).replace("-", "").upper()


def issue_officer_code(
    session: Session,
    keyring: Keyring,
    *,
    officer: OfficerSession,
    national_id_number: str,
    identity_check: IdentityCheck,
) -> IssuedCode:
    """A code for the citizen in front of the officer, shown once; it voids the account's
    last officer code and lifts a block on its resets. NotFound for an unknown number: the
    officer has the card in hand, and the route is for officers only."""
    citizen = citizens.by_national_id(session, keyring, national_id_number)
    if citizen is None:
        raise NotFound("No account has this personal identification number.")
    now = db.utc_now()
    given = session.exec(
        select(func.count())
        .select_from(ResetCode)
        .where(ResetCode.officer_id == officer.officer.id, ResetCode.created_at > now - _HOUR)
    ).one()
    if given >= OFFICER_CODES_PER_HOUR:
        raise TooManyAttempts("Too many reset codes in the last hour; wait.", retry_after=3600)
    _void(session, citizen.id, ResetKind.OFFICER, now)
    session.execute(
        delete(ResetCode).where(
            col(ResetCode.citizen_id) == citizen.id,
            col(ResetCode.kind) == ResetKind.OFFICER,
            col(ResetCode.created_at) < now - timedelta(days=1),
        )
    )
    code = new_code()
    expires_at = now + OFFICER_CODE_LIFETIME
    session.add(
        ResetCode(
            citizen_id=citizen.id,
            kind=ResetKind.OFFICER,
            code_hash=_hash(session, keyring, citizen.id, code),
            officer_id=officer.officer.id,
            identity_check=identity_check,
            created_at=now,
            expires_at=expires_at,
        )
    )
    logins.forgive(session, account=_account(citizen.national_id_index))
    audit.append(
        session,
        audit.Event(
            "auth.reset_code_issued",
            subject=citizen.id,
            actor_type="officer",
            actor_id=officer.officer.username,
            agency_id=officer.agency.id,
            details={"identity_check": identity_check.value},
        ),
    )
    return IssuedCode(code, expires_at)


def make_recovery_codes(session: Session, keyring: Keyring, citizen: Citizen) -> list[str]:
    """Ten codes to print, shown once; the last set stops working."""
    session.execute(
        delete(ResetCode).where(
            col(ResetCode.citizen_id) == citizen.id, col(ResetCode.kind) == ResetKind.SELF
        )
    )
    codes: list[str] = []
    while len(codes) < RECOVERY_CODES:
        code = new_code()
        if code not in codes:
            codes.append(code)
    session.add_all(
        ResetCode(
            citizen_id=citizen.id,
            kind=ResetKind.SELF,
            code_hash=_hash(session, keyring, citizen.id, code),
        )
        for code in codes
    )
    audit.append(
        session,
        audit.Event(
            "auth.recovery_codes_made",
            subject=citizen.id,
            actor_type="citizen",
            actor_id=str(citizen.id),
            details={"codes": RECOVERY_CODES},
        ),
    )
    # Told, so that codes made by someone else with the citizen's password do not go unseen.
    now = db.utc_now()
    made = texts.recovery_codes_made(uuid.uuid4(), now)
    citizens.announce(session, keyring, citizen.id, made)
    return codes


def recovery_codes_left(session: Session, citizen: Citizen) -> int:
    return session.exec(
        select(func.count())
        .select_from(ResetCode)
        .where(
            ResetCode.citizen_id == citizen.id,
            ResetCode.kind == ResetKind.SELF,
            col(ResetCode.used_at).is_(None),
            col(ResetCode.voided_at).is_(None),
        )
    ).one()


def begin_reset(
    session: Session, keyring: Keyring, *, national_id_number: str, new_password: str, client: str
) -> ResetAttempt:
    """Count a reset attempt (see the module's docstring), in a unit of work of the caller's
    own, committed before the code is looked at. A password the rules refuse is refused first,
    and costs no try; a blocked account or address is refused here."""
    logins.check_password(new_password)
    lookup = keyring.national_id_index(session, national_id_number.strip().encode())
    login = logins.Attempt(session, account=_account(lookup), client=client)
    citizen_id = session.exec(select(Citizen.id).where(Citizen.national_id_index == lookup)).first()
    if citizen_id is not None:
        session.execute(
            update(ResetCode)
            .where(_live(citizen_id, db.utc_now()), col(ResetCode.kind) == ResetKind.OFFICER)
            .values(tries=ResetCode.tries + 1)
            .execution_options(synchronize_session=False)
        )
    return ResetAttempt(login)


@dataclass(frozen=True)
class Reset:
    citizen: Citizen
    # With a code an officer issued: the old password, and whatever it was used to set up,
    # may be an intruder's.
    at_counter: bool


def reset_password(
    session: Session,
    keyring: Keyring,
    *,
    attempt: ResetAttempt,
    national_id_number: str,
    code: str,
    new_password: str,
) -> Reset:
    """Set the new password with a live code, spending it; end every session and token of the
    account. WrongResetCode (a 401, audited) for a wrong number or code, alike."""
    citizen = citizens.by_national_id(session, keyring, national_id_number)
    now = db.utc_now()
    found = None
    if citizen is not None:
        code_hash = _hash(session, keyring, citizen.id, normalised(code))
        found = session.exec(
            select(ResetCode).where(
                _live(citizen.id, now),
                ResetCode.code_hash == code_hash,
                or_(col(ResetCode.kind) == ResetKind.SELF, col(ResetCode.tries) <= MAX_TRIES),
            )
        ).first()
    if citizen is None or found is None:
        attempt.login.failed(
            session,
            audit.Event(
                "auth.reset_failed",
                subject=citizen.id if citizen else None,
                actor_type="anonymous",
                outcome=audit.Outcome.DENIED,
            ),
        )
        raise WrongResetCode(_REFUSED)
    spent = session.execute(
        update(ResetCode)
        .where(col(ResetCode.id) == found.id, col(ResetCode.used_at).is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        raise WrongResetCode(_REFUSED)  # spent by a reset running alongside this one
    _void(session, citizen.id, ResetKind.OFFICER, now)
    if found.kind == ResetKind.OFFICER:
        # Printed codes may be an intruder's, made with the password now being replaced.
        _void(session, citizen.id, ResetKind.SELF, now)
    citizen.password_hash = logins.hash_password(new_password)
    session.add(citizen)
    session.execute(delete(AccessToken).where(col(AccessToken.citizen_id) == citizen.id))
    ended = acting.end_all(session, EndReason.RESET, citizen_id=citizen.id)
    attempt.login.succeeded(session)
    logins.forgive(session, account=f"citizen:{citizen.national_id_index.hex()}")
    audit.append(
        session,
        audit.Event(
            "auth.password_reset",
            subject=citizen.id,
            actor_type="citizen",
            actor_id=str(citizen.id),
            details={"code": found.kind.value, "acting_sessions_ended": ended},
        ),
    )
    notice = texts.password_reset(found.id, now, at_counter=found.kind == ResetKind.OFFICER)
    citizens.announce(session, keyring, citizen.id, notice)
    return Reset(citizen, at_counter=found.kind == ResetKind.OFFICER)


_HOUR = timedelta(hours=1)


def _account(lookup: bytes) -> str:
    """The throttle's account key: by blind index, as a login's (citizens.count_login)."""
    return f"reset:{lookup.hex()}"


def _live(citizen_id: uuid.UUID, now: datetime) -> ColumnElement[bool]:
    return (
        (col(ResetCode.citizen_id) == citizen_id)
        & col(ResetCode.used_at).is_(None)
        & col(ResetCode.voided_at).is_(None)
        & or_(col(ResetCode.expires_at).is_(None), col(ResetCode.expires_at) > now)
    )


def _void(session: Session, citizen_id: uuid.UUID, kind: ResetKind, now: datetime) -> None:
    session.execute(
        update(ResetCode)
        .where(_live(citizen_id, now), col(ResetCode.kind) == kind)
        .values(voided_at=now)
        .execution_options(synchronize_session=False)
    )


def _hash(session: Session, keyring: Keyring, citizen_id: uuid.UUID, code: str) -> str:
    _, kek = keyring.citizen_key(session, citizen_id)
    key = crypto.subkey(kek, _LABEL)
    return hmac.new(key, citizen_id.bytes + code.encode(), hashlib.sha256).hexdigest()
