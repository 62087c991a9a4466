"""Who opened my papers, and who acted for me: the citizen's view of the agency accesses and
of everything done in an acting session (an officer at the counter, a delegate), from their
audit chain."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_
from sqlmodel import Session, col, select

from vault import audit, db
from vault.accounts import citizens
from vault.accounts.models import Citizen, Officer
from vault.agencies.models import Agency
from vault.audit.models import AuditEvent
from vault.blobs.backend import Backend
from vault.sharing import grants
from vault.sharing.models import Grant

ACTIONS = ("share.open", "share.preview", "share.download")
SESSIONS = ("assist.session_start", "assist.session_end")


@dataclass(frozen=True)
class OfficerRef:
    username: str
    name: str
    agency_code: str
    agency_name: str


@dataclass(frozen=True)
class DelegateRef:
    id: uuid.UUID
    name: str


@dataclass(frozen=True)
class AccessRecord:
    time: datetime
    action: str
    outcome: audit.Outcome
    reason: str | None
    agency_code: str | None
    agency_name: str | None
    officer: OfficerRef | None
    acting_session_id: uuid.UUID | None
    grant_id: uuid.UUID | None
    document_id: uuid.UUID | None
    doc_type: str | None
    purpose: str | None
    # A citizen the owner delegated to, acting in a session of theirs.
    delegate: DelegateRef | None = None
    # The agency received a copy with the citizen's masks applied, not the paper as stored.
    masked: bool = False


def for_citizen(
    session: Session, backend: Backend, *, owner: Citizen, limit: int = 100
) -> list[AccessRecord]:
    events = _events(session, owner.id, limit)
    agency_ids = {e.agency_id for e in events if e.agency_id}
    grant_ids = {e.grant_id for e in events if e.grant_id}
    agencies = {a.id: a for a in session.exec(select(Agency).where(col(Agency.id).in_(agency_ids)))}
    officers = _officers(session, {e.actor_id for e in events if e.actor_type == "officer"})
    delegates = _delegates(
        session, backend, {e.actor_id for e in events if e.actor_type == "delegate"}
    )
    purposes = {
        g.id: grants.purpose_of(session, backend, g)
        for g in session.exec(select(Grant).where(col(Grant.id).in_(grant_ids)))
    }
    records = []
    for event in events:
        agency = agencies.get(event.agency_id) if event.agency_id else None
        details = json.loads(event.details)
        records.append(
            AccessRecord(
                time=db.aware(event.occurred_at),
                action=event.action,
                outcome=event.outcome,
                reason=event.reason,
                agency_code=agency.code if agency else None,
                agency_name=agency.name if agency else None,
                officer=officers.get(event.actor_id or "")
                if event.actor_type == "officer"
                else None,
                acting_session_id=_acting_session(details),
                grant_id=event.grant_id,
                document_id=event.document_id,
                doc_type=details.get("doc_type"),
                purpose=purposes.get(event.grant_id) if event.grant_id else None,
                delegate=delegates.get(event.actor_id or "")
                if event.actor_type == "delegate"
                else None,
                masked=details.get("masked") is True,
            )
        )
    return records


def _events(session: Session, citizen_id: uuid.UUID, limit: int) -> list[AuditEvent]:
    return list(
        session.exec(
            select(AuditEvent)
            .where(
                AuditEvent.chain == str(citizen_id),
                or_(
                    col(AuditEvent.action).in_(ACTIONS + SESSIONS),
                    col(AuditEvent.details).contains('"acting_session":'),
                ),
            )
            .order_by(col(AuditEvent.seq).desc())
            .limit(limit)
        ).all()
    )


def _officers(session: Session, usernames: set[str | None]) -> dict[str, OfficerRef]:
    found = session.exec(
        select(Officer, Agency)
        .join(Agency, col(Agency.id) == Officer.agency_id)
        .where(col(Officer.username).in_({name for name in usernames if name}))
    ).all()
    return {
        officer.username: OfficerRef(officer.username, officer.full_name, agency.code, agency.name)
        for officer, agency in found
    }


def _delegates(session: Session, backend: Backend, ids: set[str | None]) -> dict[str, DelegateRef]:
    found: dict[str, DelegateRef] = {}
    for value in ids:
        citizen = session.get(Citizen, uuid.UUID(value)) if value else None
        if citizen is not None:
            name = citizens.profile(session, backend.keyring, citizen).full_name
            found[str(citizen.id)] = DelegateRef(citizen.id, name)
    return found


def _acting_session(details: dict[str, object]) -> uuid.UUID | None:
    value = details.get("acting_session") or details.get("session")
    return uuid.UUID(str(value)) if value else None
