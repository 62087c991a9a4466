"""Acting sessions: a token for a citizen's API held by someone else, with the citizen's consent.

The consent itself (an officer's request the citizen approves, a delegation the citizen makes)
belongs to `vault.assist`; this module only opens, finds and ends the sessions, so that every
way in to a citizen's vault — their own token, an acting token — is resolved in `accounts`.
A token is 256 random bits; only its SHA-256 is kept.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, or_
from sqlmodel import Session, col, select

from vault import audit, crypto, db
from vault.accounts.models import ActingSession, ActorKind, Citizen, EndReason, Officer, Scope
from vault.agencies.models import Agency
from vault.kit.errors import InvalidInput, NotFound

# An acting session is short: a visit to the counter, an errand for a parent.
MAX_MINUTES = 60
DEFAULT_MINUTES = 30


@dataclass(frozen=True)
class Acting:
    """Who is calling for whom, and what they may do."""

    session: ActingSession
    citizen: Citizen
    scopes: frozenset[Scope]
    officer: Officer | None = None
    agency: Agency | None = None
    delegate: Citizen | None = None

    @property
    def actor(self) -> audit.Actor:
        if self.officer is not None:
            return audit.Actor(
                citizen_id=self.citizen.id,
                actor_type="officer",
                actor_id=self.officer.username,
                agency_id=self.officer.agency_id,
                session_id=self.session.id,
            )
        assert self.delegate is not None
        return audit.Actor(
            citizen_id=self.citizen.id,
            actor_type="delegate",
            actor_id=str(self.delegate.id),
            agency_id=None,
            session_id=self.session.id,
        )


@dataclass(frozen=True)
class Opened:
    session: ActingSession
    token: str


def parse_scopes(values: Iterable[str]) -> frozenset[Scope]:
    """Known scopes only; an unknown one is an error, not silently dropped."""
    return frozenset(Scope(value) for value in values)


def checked_scopes(values: Iterable[str]) -> frozenset[Scope]:
    """What someone asks to be allowed, as given by a person: at least one, all known."""
    values = list(values)
    if not values:
        raise InvalidInput("Give at least one scope.", field="scopes")
    try:
        scopes = parse_scopes(values)
    except ValueError:
        known = ", ".join(scope.value for scope in Scope)
        raise InvalidInput(f"Scopes are among: {known}.", field="scopes") from None
    if scopes & {Scope.GRANTS_WRITE, Scope.DOSSIERS_WRITE} and Scope.DOCUMENTS_READ not in scopes:
        # Sharing papers or sending them in a dossier shows them: the consent must say so.
        raise InvalidInput(
            "Sharing papers or filing dossiers shows the papers: ask for documents:read too.",
            field="scopes",
        )
    return scopes


def checked_minutes(minutes: int) -> int:
    if not 1 <= minutes <= MAX_MINUTES:
        raise InvalidInput(f"A session lasts 1 to {MAX_MINUTES} minutes.", field="minutes")
    return minutes


def encode_scopes(scopes: Iterable[Scope]) -> str:
    return " ".join(sorted(scope.value for scope in scopes))


def scopes_of_text(scopes: str) -> frozenset[Scope]:
    return frozenset(Scope(value) for value in scopes.split())


def open_session(
    session: Session,
    *,
    citizen_id: uuid.UUID,
    kind: ActorKind,
    origin_id: uuid.UUID,
    scopes: Iterable[Scope],
    expires_at: datetime,
    officer_id: uuid.UUID | None = None,
    delegate_id: uuid.UUID | None = None,
) -> Opened:
    token = crypto.new_token()
    row = ActingSession(
        citizen_id=citizen_id,
        kind=kind,
        officer_id=officer_id,
        delegate_id=delegate_id,
        origin_id=origin_id,
        scopes=encode_scopes(scopes),
        token_hash=crypto.hash_token(token),
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    return Opened(row, token)


def resolve(session: Session, token: str) -> Acting | None:
    """The live session this token opens; None once it has ended or expired, or when the
    officer or their agency has been disabled since."""
    row = session.exec(
        select(ActingSession).where(ActingSession.token_hash == crypto.hash_token(token))
    ).first()
    if row is None or not is_live(row):
        return None
    citizen = session.get(Citizen, row.citizen_id)
    if citizen is None:
        return None
    if row.kind == ActorKind.OFFICER:
        found = session.exec(
            select(Officer, Agency)
            .join(Agency, col(Agency.id) == Officer.agency_id)
            .where(Officer.id == row.officer_id)
        ).first()
        if found is None or found[0].disabled_at or found[1].disabled_at:
            return None
        return Acting(row, citizen, scopes_of_text(row.scopes), officer=found[0], agency=found[1])
    delegate = session.get(Citizen, row.delegate_id) if row.delegate_id else None
    if delegate is None:
        return None
    return Acting(row, citizen, scopes_of_text(row.scopes), delegate=delegate)


def is_live(row: ActingSession) -> bool:
    return row.ended_at is None and db.aware(row.expires_at) > db.utc_now()


def end(session: Session, row: ActingSession, reason: EndReason) -> ActingSession:
    """Ends it now (idempotent: a session ended before keeps its first end)."""
    if row.ended_at is None:
        now = db.utc_now()
        row.ended_at = min(now, db.aware(row.expires_at))
        row.end_reason = reason if db.aware(row.expires_at) > now else EndReason.EXPIRED
        session.add(row)
        session.flush()
    return row


def end_all(session: Session, reason: EndReason, *, citizen_id: uuid.UUID) -> int:
    """Ends every live session on the citizen's vault and every one they hold on another's (a
    password reset: whoever had the old password may have opened them). Returns how many."""
    return _end_where(
        session,
        reason,
        or_(
            col(ActingSession.citizen_id) == citizen_id,
            col(ActingSession.delegate_id) == citizen_id,
        ),
    )


def end_held(
    session: Session,
    reason: EndReason,
    *,
    officer_id: uuid.UUID | None = None,
    delegate_id: uuid.UUID | None = None,
) -> int:
    """Ends the sessions an officer or a delegate holds: their logout ends what they opened,
    so the next person at a shared counter computer finds nothing open."""
    holder = (
        col(ActingSession.officer_id) == officer_id
        if officer_id is not None
        else col(ActingSession.delegate_id) == delegate_id
    )
    return _end_where(session, reason, holder)


def _end_where(session: Session, reason: EndReason, which: ColumnElement[bool]) -> int:
    """Each ending goes in the audit chain of the vault the session opened."""
    rows = session.exec(
        select(ActingSession).where(
            which,
            col(ActingSession.ended_at).is_(None),
            col(ActingSession.expires_at) > db.utc_now(),
        )
    ).all()
    for row in rows:
        end(session, row, reason)
        audit.append(
            session,
            audit.Event(
                "assist.session_end",
                subject=row.citizen_id,
                actor_type="system",
                details={"session": str(row.id), "reason": reason.value},
            ),
        )
    return len(rows)


def get(session: Session, session_id: uuid.UUID) -> ActingSession:
    row = session.get(ActingSession, session_id)
    if row is None:
        raise NotFound("No such acting session.")
    return row
