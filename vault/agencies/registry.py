"""Receiving agencies: registered by an operator, authenticated with OAuth2 client credentials."""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete
from sqlmodel import Session, col, select

from vault import crypto, db
from vault.agencies.bearers import holds
from vault.agencies.models import Agency, AgencyToken
from vault.crypto import signatures
from vault.kit import text
from vault.kit.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound

CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{1,31}$"
_CODE = re.compile(CODE_PATTERN)
LEVELS = ("commune", "province", "central")
# Compared against when the client id is unknown, so both failures take the same time.
_NO_SECRET = crypto.hash_token("no such client")


@dataclass(frozen=True)
class Credentials:
    """Shown to the operator once; only the secret's hash is kept."""

    code: str
    client_id: str
    client_secret: str


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_in: int


def create(
    session: Session,
    *,
    code: str,
    name: str,
    level: str = "commune",
    public_key_pem: str | None = None,
) -> Credentials:
    code, name = code.strip(), text.one_line(name)
    if level not in LEVELS:
        raise InvalidInput(f"An agency's level is one of {', '.join(LEVELS)}.", field="level")
    if not _CODE.match(code):
        raise InvalidInput(
            "An agency code has 2 to 32 letters, digits, '.', '_' or '-'.", field="code"
        )
    if not 1 <= len(name) <= text.MAX_NAME:
        raise InvalidInput(
            f"An agency needs a name of at most {text.MAX_NAME} characters.", field="name"
        )
    if session.exec(select(Agency.id).where(Agency.code == code)).first():
        raise Conflict(f"An agency with the code {code!r} already exists.")
    secret = crypto.new_token()
    agency = Agency(
        code=code,
        name=name,
        level=level,
        client_id=f"agency-{secrets.token_hex(10)}",
        secret_hash=crypto.hash_token(secret),
        signing_key_pem=_checked_key(public_key_pem) if public_key_pem else None,
    )
    session.add(agency)
    session.flush()
    return Credentials(code, agency.client_id, secret)


def set_signing_key(session: Session, code: str, public_key_pem: str) -> Agency:
    """The key that signs what the agency issues from now on; papers deposited before keep
    the key they were checked under."""
    agency = by_code(session, code)
    agency.signing_key_pem = _checked_key(public_key_pem)
    session.add(agency)
    return agency


def _checked_key(public_key_pem: str) -> str:
    try:
        signatures.algorithm_of(public_key_pem)
    except signatures.SigningKeyError as error:
        raise InvalidInput(f"The signing key is refused: {error}.", field="public_key") from None
    return public_key_pem.strip() + "\n"


def list_all(session: Session) -> list[Agency]:
    return list(session.exec(select(Agency).order_by(col(Agency.code))).all())


def by_code(session: Session, code: str) -> Agency:
    agency = session.exec(select(Agency).where(Agency.code == code)).first()
    if agency is None:
        raise NotFound(f"No agency has the code {code!r}.")
    return agency


def active_by_code(session: Session, code: str) -> Agency:
    """The agency a citizen names; an unknown or disabled one is the citizen's input error."""
    agency = session.exec(select(Agency).where(Agency.code == code)).first()
    if agency is None or agency.disabled_at is not None:
        raise InvalidInput(f"No active agency has the code {code!r}.", field="agency")
    return agency


def disable(session: Session, code: str) -> Agency:
    agency = by_code(session, code)
    if agency.disabled_at is None:
        agency.disabled_at = db.utc_now()
        session.add(agency)
        session.execute(delete(AgencyToken).where(col(AgencyToken.agency_id) == agency.id))
    return agency


def rotate_secret(session: Session, code: str) -> Credentials:
    """A new secret; the old one and every token issued under it stop working at once."""
    agency = by_code(session, code)
    secret = crypto.new_token()
    agency.secret_hash = crypto.hash_token(secret)
    agency.secret_rotated_at = db.utc_now()
    session.add(agency)
    session.execute(delete(AgencyToken).where(col(AgencyToken.agency_id) == agency.id))
    return Credentials(agency.code, agency.client_id, secret)


def authenticate(session: Session, *, client_id: str, client_secret: str) -> Agency:
    agency = session.exec(select(Agency).where(Agency.client_id == client_id)).first()
    expected = agency.secret_hash if agency else _NO_SECRET
    matches = hmac.compare_digest(expected, crypto.hash_token(client_secret))
    if agency is None or not matches or agency.disabled_at is not None:
        raise AuthenticationFailed("Unknown client, wrong secret or disabled agency.")
    return agency


def issue_token(session: Session, agency: Agency, *, ttl_seconds: int) -> IssuedToken:
    token = crypto.new_token()
    now = db.utc_now()
    session.execute(
        delete(AgencyToken).where(
            col(AgencyToken.agency_id) == agency.id, col(AgencyToken.expires_at) < now
        )
    )
    session.add(
        AgencyToken(
            token_hash=crypto.hash_token(token),
            agency_id=agency.id,
            expires_at=now + timedelta(seconds=ttl_seconds),
        )
    )
    return IssuedToken(token, ttl_seconds)


def agency_for_token(session: Session, token: str) -> Agency | None:
    return session.exec(
        select(Agency)
        .join(AgencyToken, col(AgencyToken.agency_id) == Agency.id)
        .where(AgencyToken.token_hash == crypto.hash_token(token), *holds(db.utc_now()))
    ).first()
