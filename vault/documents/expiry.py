"""Telling citizens before their papers expire, and when they have.

Run once a day (08:00 in Vietnam) for that day. Idempotent and catching up: the most urgent
reminder a paper has reached is announced once (30 days, then 7, by the citizen's choice), so
a day the job did not run is made good the next day rather than lost. "Once" is per expiry
date: a date corrected later is reminded of afresh, a rescan with the same date is not."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_
from sqlmodel import Session, col, select

from vault.catalog.document_types import document_type
from vault.documents.models import Document, DocumentVersion
from vault.notices import contacts, inbox, texts
from vault.notices.models import NoticeKind, NoticePreference, Notification

DEFAULT_DAYS = [30, 7]
# An expired paper is announced if it expired within this many days; older ones were
# announced then, or predate the vault.
EXPIRED_WINDOW = timedelta(days=30)


def due(session: Session, today: date) -> list[tuple[uuid.UUID, inbox.Notice]]:
    """The notices due on `today` and not yet announced, by citizen. The caller announces
    them in batches: one transaction for a whole city's papers would hold the database."""
    chosen = {
        p.citizen_id: contacts.reminder_days(p) for p in session.exec(select(NoticePreference))
    }
    horizon = max([max(days, default=0) for days in chosen.values()] + DEFAULT_DAYS)
    rows = session.exec(
        select(Document.id, Document.owner_id, Document.doc_type, DocumentVersion)
        .join(
            DocumentVersion,
            and_(
                col(DocumentVersion.document_id) == Document.id,
                col(DocumentVersion.version) == Document.current_version,
            ),
        )
        .where(
            col(DocumentVersion.expires_on).is_not(None),
            col(DocumentVersion.expires_on) <= today + timedelta(days=horizon),
            col(DocumentVersion.expires_on) >= today - EXPIRED_WINDOW,
        )
        .order_by(col(Document.owner_id))
    ).all()
    announced = _announced(session, since=today - EXPIRED_WINDOW - timedelta(days=horizon + 1))
    out = []
    for paper_id, owner, doc_type, version in rows:
        notice = _due(paper_id, doc_type, version, today, chosen.get(owner, DEFAULT_DAYS))
        if notice is not None and (owner, notice.dedup_key) not in announced:
            out.append((owner, notice))
    return out


def _due(
    paper_id: uuid.UUID, doc_type: str, version: DocumentVersion, today: date, days: list[int]
) -> inbox.Notice | None:
    assert version.expires_on is not None
    name = document_type(doc_type).name_vi
    left = (version.expires_on - today).days
    if left < 0:
        return texts.paper_expired(paper_id, name, version.expires_on)
    reached = [day for day in days if left <= day]
    if not reached:
        return None
    return texts.paper_expiring(paper_id, name, version.expires_on, left, min(reached))


def _announced(session: Session, *, since: date) -> set[tuple[uuid.UUID, str]]:
    """Only what could concern the papers due: a reminder of a date still in the window was
    made no earlier than the horizon before it (the history grows every day)."""
    rows = session.exec(
        select(Notification.citizen_id, Notification.dedup_key).where(
            col(Notification.kind).in_([NoticeKind.PAPER_EXPIRING, NoticeKind.PAPER_EXPIRED]),
            col(Notification.created_at) >= datetime.combine(since, time(), tzinfo=UTC),
        )
    ).all()
    return {(citizen, key) for citizen, key in rows}
