"""Counter officers: people who act for an agency, each with their own login, so that every
access they make is recorded under their name as well as the agency's."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, col, select

from vault import agencies, audit, crypto, db
from vault.accounts import acting, logins
from vault.accounts.models import EndReason, Officer
from vault.agencies.models import Agency, AgencyToken
from vault.kit import text
from vault.kit.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")


@dataclass(frozen=True)
class OfficerSession:
    agency: Agency
    officer: Officer


def create(
    session: Session,
    *,
    agency_code: str,
    username: str,
    full_name: str,
    password: str | None = None,
) -> tuple[Officer, str]:
    """The officer and their password (generated if not given, shown once)."""
    agency = agencies.by_code(session, agency_code)
    username = username.strip().lower()
    if not _USERNAME.match(username):
        raise InvalidInput(
            "A username has 3 to 64 lowercase letters, digits, '.', '_' or '-'.", field="username"
        )
    if session.exec(select(Officer.id).where(Officer.username == username)).first():
        raise Conflict(f"The username {username!r} is taken.")
    full_name = text.one_line(full_name) or username
    if len(full_name) > text.MAX_NAME:
        raise InvalidInput(f"A name has at most {text.MAX_NAME} characters.", field="full_name")
    password = password or secrets.token_urlsafe(12)
    officer = Officer(
        agency_id=agency.id,
        username=username,
        full_name=full_name,
        password_hash=logins.hash_password(password),
    )
    session.add(officer)
    session.flush()
    return officer, password


def list_for(session: Session, agency_code: str) -> list[Officer]:
    agency = agencies.by_code(session, agency_code)
    return list(
        session.exec(
            select(Officer).where(Officer.agency_id == agency.id).order_by(col(Officer.username))
        )
    )


def disable(session: Session, username: str) -> None:
    officer = session.exec(select(Officer).where(Officer.username == username)).first()
    if officer is None:
        raise NotFound(f"No officer is called {username!r}.")
    officer.disabled_at = officer.disabled_at or db.utc_now()
    session.add(officer)
    for token in session.exec(select(AgencyToken).where(AgencyToken.officer_id == officer.id)):
        session.delete(token)


def count_login(session: Session, *, username: str, client: str) -> logins.Attempt:
    """A login attempt, counted (see logins.Attempt); a throttled caller is refused here."""
    return logins.Attempt(session, account=f"officer:{username.strip().lower()}", client=client)


def log_in(
    session: Session, *, attempt: logins.Attempt, username: str, password: str, ttl_seconds: int
) -> str:
    """A session token for the officer; refused and audited otherwise. `attempt` is this
    login, counted by `count_login` before the password is looked at."""
    row = session.exec(
        select(Officer, Agency)
        .join(Agency, col(Agency.id) == Officer.agency_id)
        .where(Officer.username == username.strip().lower())
    ).first()
    officer, agency = row if row else (None, None)
    usable = officer is not None and officer.disabled_at is None and agency.disabled_at is None  # type: ignore[union-attr]
    if not logins.verify(officer.password_hash if usable else None, password):  # type: ignore[union-attr]
        attempt.failed(
            session,
            audit.Event(
                "officer.login_failed",
                subject=None,
                actor_type="anonymous",
                outcome=audit.Outcome.DENIED,
            ),
        )
        raise AuthenticationFailed("Wrong username or password.")
    attempt.succeeded(session)
    token = crypto.new_token()
    session.add(
        AgencyToken(
            token_hash=crypto.hash_token(token),
            agency_id=agency.id,  # type: ignore[union-attr]
            officer_id=officer.id,  # type: ignore[union-attr]
            expires_at=db.utc_now() + timedelta(seconds=ttl_seconds),
        )
    )
    return token


def session_for_token(session: Session, token: str) -> OfficerSession | None:
    row = session.exec(
        select(Officer, Agency, AgencyToken.expires_at)
        .join(AgencyToken, col(AgencyToken.officer_id) == Officer.id)
        .join(Agency, col(Agency.id) == Officer.agency_id)
        .where(AgencyToken.token_hash == crypto.hash_token(token))
    ).first()
    if row is None:
        return None
    officer, agency, expires_at = row
    if officer.disabled_at or agency.disabled_at or db.aware(expires_at) <= db.utc_now():
        return None
    return OfficerSession(agency, officer)


def log_out(session: Session, token: str) -> None:
    """The token stops working, and so do the acting sessions the officer holds: the next
    person at the counter's computer finds no citizen's vault open."""
    row = session.get(AgencyToken, crypto.hash_token(token))
    if row is not None and row.officer_id is not None:
        acting.end_held(session, EndReason.ACTOR, officer_id=row.officer_id)
        session.delete(row)
