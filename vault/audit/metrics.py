"""Every audit event counted on /metrics once its transaction has committed: a grant's
outcomes by reason, refused logins, a dossier's moves, an officer acting — whatever is audited
is counted, in one place, and a rolled-back event is not."""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter
from sqlalchemy import event
from sqlalchemy.orm import Session, object_session

from vault.audit.models import AuditEvent

EVENTS = Counter(
    "vault_audit_events",
    "Audited events by action, outcome and reason (share.download/refused/expired, …)",
    ["action", "outcome", "reason"],
)
_PENDING = "vault.audit.metrics"


def install() -> None:
    """Idempotent: the listeners are registered once per process."""
    if not event.contains(AuditEvent, "after_insert", _noted):
        event.listen(AuditEvent, "after_insert", _noted)
        event.listen(Session, "after_commit", _committed)
        event.listen(Session, "after_rollback", _forgotten)


def _noted(_mapper: Any, _connection: Any, row: AuditEvent) -> None:
    session = object_session(row)
    if session is not None:
        labels = (row.action, str(row.outcome), row.reason or "")
        session.info.setdefault(_PENDING, []).append(labels)


def _committed(session: Session) -> None:
    for labels in session.info.pop(_PENDING, ()):
        EVENTS.labels(*labels).inc()


def _forgotten(session: Session) -> None:
    session.info.pop(_PENDING, None)


def count_written(action: str, outcome: str, reason: str | None = None) -> None:
    """An event the database wrote itself, outside the ORM (vault.sharing.checked), once its
    statement has committed."""
    EVENTS.labels(action, outcome, reason or "").inc()
