"""The daily digest of agency accesses: one notice a day per citizen whose shared papers an
agency opened, not one a fetch."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import Session, col, func, select

from vault import audit
from vault.agencies.models import Agency
from vault.audit.models import AuditEvent
from vault.notices import inbox, texts

# Looking at a paper, not opening the list of what was shared.
OPENED = ("share.preview", "share.download")


def due(session: Session, on: date) -> list[tuple[uuid.UUID, inbox.Notice]]:
    """Digests of the accesses on `on` (a Vietnamese calendar day), by citizen."""
    # In UTC: SQLite compares the stored text, which is UTC.
    start = datetime.combine(on, time(), tzinfo=texts.VIETNAM).astimezone(UTC)
    rows = session.exec(
        select(AuditEvent.chain, AuditEvent.agency_id, func.count())
        .where(
            col(AuditEvent.action).in_(OPENED),
            AuditEvent.outcome == audit.Outcome.SUCCESS,
            col(AuditEvent.agency_id).is_not(None),
            col(AuditEvent.occurred_at) >= start,
            col(AuditEvent.occurred_at) < start + timedelta(days=1),
        )
        .group_by(col(AuditEvent.chain), col(AuditEvent.agency_id))
    ).all()
    names = {a.id: a.name for a in session.exec(select(Agency))}
    opened: dict[uuid.UUID, dict[str, int]] = defaultdict(dict)
    for chain, agency_id, count in rows:
        citizen = _citizen(chain)
        if citizen is not None and agency_id in names:
            opened[citizen][names[agency_id]] = count
    return [(citizen, texts.shares_digest(on, by_agency)) for citizen, by_agency in opened.items()]


def _citizen(chain: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(chain)
    except ValueError:
        return None
