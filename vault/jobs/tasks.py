"""The task functions. Each is safe to run again (a retry, a worker killed mid-way, two
`run-due` on the same day): deliveries are marked once sent, notices carry a dedup key."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from sqlalchemy import Engine

from vault import db, queue
from vault.accounts import citizens
from vault.accounts.models import Citizen
from vault.assist import dependents, sessions
from vault.audit import anchors, checkpoints
from vault.documents import expiry, recognition, sweep
from vault.jobs.work import Work
from vault.keys import rotation
from vault.notices import inbox, outbox
from vault.notices.channels import ChannelError
from vault.notices.models import Channel, DeliveryState
from vault.sharing import digest

log = logging.getLogger(__name__)
BATCH = 200


class NotSetUp(Exception):
    """The vault has no such channel: the delivery is skipped, not retried."""


def deliver(work: Work, delivery: str) -> None:
    delivery_id = uuid.UUID(delivery)
    with work.connections.connection() as connection:
        out = outbox.claim(connection, work.keyring, delivery_id)
    if out is None:
        return
    try:
        _send(work, out)
    except NotSetUp as missing:
        _record(work, delivery_id, DeliveryState.SKIPPED, str(missing))
    except ChannelError as error:
        if error.permanent:
            _record(work, delivery_id, DeliveryState.FAILED, "refused by the receiving side")
            return
        _record(work, delivery_id, DeliveryState.PENDING, "not reached; will retry")
        raise
    else:
        _record(work, delivery_id, DeliveryState.SENT)


def _send(work: Work, out: outbox.Outgoing) -> None:
    link = f"{work.public_url}{out.link}" if out.link else None
    if out.channel is Channel.EMAIL:
        if work.mailer is None:
            raise NotSetUp("no SMTP server is set up (VAULT_SMTP_URL)")
        assert out.email is not None
        work.mailer.send(
            to=out.email, subject=out.title, body=out.body, message_id=str(out.event_id), link=link
        )
        return
    if work.webhook is None:
        raise NotSetUp("no gateway is set up (VAULT_NOTIFY_WEBHOOK_URL)")
    work.webhook.post(
        {
            "event_id": str(out.event_id),
            "kind": out.kind,
            "phone": out.phone,
            "email": out.email,
            "language": "vi",
            "title": out.title,
            "body": out.body,
            "link": link,
            "created_at": out.created_at.isoformat(),
        }
    )


def _record(
    work: Work, delivery_id: uuid.UUID, state: DeliveryState, error: str | None = None
) -> None:
    with work.connections.connection() as connection:
        outbox.record(connection, delivery_id, state, error)


def gave_up(work: Work, task: str, args: Mapping[str, Any], runs: int) -> None:
    """After a job's last run failed, as each queue tells it (huey's retries left, procrastinate's
    attempts made): a delivery that will not be tried again is not left pending."""
    if task == queue.Task.DELIVER:
        with work.connections.connection() as connection:
            reason = f"gave up after {runs} attempts"
            outbox.give_up(connection, uuid.UUID(args["delivery"]), reason)


def retried(engine: Engine, task: str, args: Mapping[str, Any]) -> None:
    """Before a job that failed for good runs again by hand."""
    if task == queue.Task.DELIVER:
        with db.unit_of_work(engine) as session:
            outbox.pending_again(session, uuid.UUID(args["delivery"]))


def expiry_reminders(work: Work, day: str) -> None:
    with db.unit_of_work(work.engine, writes=False) as session:
        due = expiry.due(session, date.fromisoformat(day))
        told = dependents.told_to_guardians(session, work.keyring, due)
    _announce(work, told)


def shares_digest(work: Work, day: str) -> None:
    with db.unit_of_work(work.engine, writes=False) as session:
        notices = digest.due(session, date.fromisoformat(day))
    _announce(work, [[notice] for notice in notices])


def _announce(work: Work, groups: list[list[tuple[uuid.UUID, inbox.Notice]]]) -> None:
    """In batches, each its own transaction: one for a whole city's papers would hold the
    database (on SQLite, its only write lock) for as long as it takes. A group (a reminder and
    its copies for a child's guardians) is never split: the next day's run, finding the
    reminder announced, would not make the copies again."""
    for start in range(0, len(groups), BATCH):
        with db.unit_of_work(work.engine) as session:
            for group in groups[start : start + BATCH]:
                for citizen_id, notice in group:
                    if session.get(Citizen, citizen_id) is not None:
                        citizens.announce(session, work.keyring, citizen_id, notice)


def audit_anchor(work: Work) -> None:
    anchors.append(work.anchor_file, anchors.take(work.engine, work.keyring.master))


def audit_checkpoint(work: Work) -> None:
    try:
        checkpoint, new = checkpoints.take(work.engine, work.store, work.keyring.master)
    except checkpoints.NoSigningKey as missing:
        log.warning("audit checkpoint skipped: %s", missing.detail)
        return
    if new:
        log.info("signed an audit checkpoint of %d events", checkpoint.tree_size)


def storage_gc(work: Work) -> None:
    report = sweep.sweep(work.engine, work.store, grace=work.gc_grace)
    log.info(
        "storage gc: scanned %d blobs, deleted %d, removed %d expired resumable uploads",
        report.scanned,
        report.deleted,
        report.expired_uploads,
    )


def keys_rewrap(work: Work) -> None:
    work.keyring.reload()
    count = rotation.rewrap_all(work.engine, work.keyring)
    log.info("rewrapped %d citizen keys", count)


def assist_close(work: Work, session: str) -> None:
    """At an acting session's end: recorded as expired and the citizen told, unless it was
    ended before."""
    with db.unit_of_work(work.engine) as unit:
        sessions.close_one(unit, work.keyring, uuid.UUID(session))


def read_paper(work: Work, document: str, version: int) -> None:
    """OCR of a paper uploaded without a QR code that said what it is."""
    recognition.read_queued(
        work.engine, work.backend(), document_id=uuid.UUID(document), version=int(version)
    )


TASKS: dict[queue.Task, Callable[..., Any]] = {
    queue.Task.DELIVER: deliver,
    queue.Task.EXPIRY_REMINDERS: expiry_reminders,
    queue.Task.SHARES_DIGEST: shares_digest,
    queue.Task.AUDIT_ANCHOR: audit_anchor,
    queue.Task.AUDIT_CHECKPOINT: audit_checkpoint,
    queue.Task.STORAGE_GC: storage_gc,
    queue.Task.KEYS_REWRAP: keys_rewrap,
    queue.Task.ASSIST_CLOSE: assist_close,
    queue.Task.READ_PAPER: read_paper,
}
