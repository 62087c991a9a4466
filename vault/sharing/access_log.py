"""Who opened my papers: the citizen's view of the agency accesses in their audit chain."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from vault import audit, db
from vault.accounts.models import Citizen
from vault.agencies.models import Agency
from vault.blobs.backend import Backend
from vault.sharing import grants
from vault.sharing.models import Grant

ACTIONS = ("share.open", "share.preview", "share.download")


@dataclass(frozen=True)
class AccessRecord:
    time: datetime
    action: str
    outcome: audit.Outcome
    reason: str | None
    agency_code: str | None
    agency_name: str | None
    officer: str | None
    grant_id: uuid.UUID | None
    document_id: uuid.UUID | None
    doc_type: str | None
    purpose: str | None


def for_citizen(
    session: Session, backend: Backend, *, owner: Citizen, limit: int = 100
) -> list[AccessRecord]:
    events = audit.chain_of(session, owner.id, ACTIONS)[:limit]
    agency_ids = {e.agency_id for e in events if e.agency_id}
    grant_ids = {e.grant_id for e in events if e.grant_id}
    agencies = {a.id: a for a in session.exec(select(Agency).where(col(Agency.id).in_(agency_ids)))}
    purposes = {
        g.id: grants.purpose_of(session, backend, g)
        for g in session.exec(select(Grant).where(col(Grant.id).in_(grant_ids)))
    }
    records = []
    for event in events:
        agency = agencies.get(event.agency_id) if event.agency_id else None
        records.append(
            AccessRecord(
                time=db.aware(event.occurred_at),
                action=event.action,
                outcome=event.outcome,
                reason=event.reason,
                agency_code=agency.code if agency else None,
                agency_name=agency.name if agency else None,
                officer=event.actor_id if event.actor_type == "officer" else None,
                grant_id=event.grant_id,
                document_id=event.document_id,
                doc_type=json.loads(event.details).get("doc_type"),
                purpose=purposes.get(event.grant_id) if event.grant_id else None,
            )
        )
    return records
