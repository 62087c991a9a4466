"""The periodic work, by slot: each job once per slot (its day, or its hour, in Vietnam),
whoever asks first: a worker's minute tick, or `vault jobs run-due --at …`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from vault import db, queue
from vault.notices.texts import VIETNAM
from vault.queue.models import PeriodicRun


@dataclass(frozen=True)
class Periodic:
    task: queue.Task
    # Daily at this Vietnamese time; None: every hour, on the hour.
    daily_at: time | None
    # The job's arguments for the slot's day.
    args: Callable[[date], dict[str, queue.Arg]]


def _no_args(_: date) -> dict[str, queue.Arg]:
    return {}


PERIODIC = (
    Periodic(queue.Task.EXPIRY_REMINDERS, time(8, 0), lambda day: {"day": day.isoformat()}),
    # Yesterday's accesses, before the working day starts.
    Periodic(
        queue.Task.SHARES_DIGEST,
        time(7, 0),
        lambda day: {"day": (day - timedelta(days=1)).isoformat()},
    ),
    Periodic(queue.Task.STORAGE_GC, time(3, 0), _no_args),
    Periodic(queue.Task.AUDIT_ANCHOR, None, _no_args),
    Periodic(queue.Task.AUDIT_CHECKPOINT, None, _no_args),
)


def slot(periodic: Periodic, at: datetime) -> tuple[str, date]:
    """The latest slot that started at or before `at`, and its day."""
    local = at.astimezone(VIETNAM)
    if periodic.daily_at is None:
        return local.strftime("%Y-%m-%dT%H"), local.date()
    day = (
        local.date()
        if local.timetz().replace(tzinfo=None) >= periodic.daily_at
        else (local.date() - timedelta(days=1))
    )
    return day.isoformat(), day


def enqueue_due(session: Session, at: datetime) -> list[tuple[queue.Task, str]]:
    """Enqueue each periodic job whose latest slot at `at` has not been enqueued yet."""
    enqueued = []
    for periodic in PERIODIC:
        name, day = slot(periodic, at)
        if session.get(PeriodicRun, (periodic.task.value, name)) is not None:
            continue
        try:
            with session.begin_nested():
                session.add(PeriodicRun(task=periodic.task.value, slot=name))
                session.flush()
        except IntegrityError:
            continue  # another worker's tick took this slot a moment ago
        queue.enqueue(session, periodic.task, periodic.args(day))
        enqueued.append((periodic.task, name))
    return enqueued


def tick(engine: Engine, at: datetime | None = None) -> None:
    """Every worker's minute: the periodic work now due."""
    with db.unit_of_work(engine) as session:
        enqueue_due(session, at or db.utc_now())
