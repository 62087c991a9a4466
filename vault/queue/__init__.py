"""The job queue: work the vault asks to be done later, recorded in the caller's transaction.

A job is written by the same transaction as the change it follows (a rolled-back change leaves
no job; a committed one always has its job), so it is written through the caller's session,
never through a connection of the queue library's own. Two libraries hold the jobs, one per
database: procrastinate on PostgreSQL (any number of `vault worker` processes, on any host),
huey on the embedded SQLite file (run inside `vault serve`). The task functions are the same;
`vault.jobs` registers them with both.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum

from sqlmodel import Session

from vault.queue import embedded, postgres

Arg = str | int | None


class Task(StrEnum):
    """Every kind of job, by the stable name both queues store."""

    DELIVER = "deliver"
    EXPIRY_REMINDERS = "expiry_reminders"
    SHARES_DIGEST = "shares_digest"
    AUDIT_ANCHOR = "audit_anchor"
    AUDIT_CHECKPOINT = "audit_checkpoint"
    STORAGE_GC = "storage_gc"
    KEYS_REWRAP = "keys_rewrap"
    RUN_DUE = "run_due"
    ASSIST_CLOSE = "assist_close"
    READ_PAPER = "read_paper"


def enqueue(
    session: Session,
    task: Task,
    args: Mapping[str, Arg] | None = None,
    *,
    at: datetime | None = None,
) -> None:
    """Add a job to the queue of the session's database, inside the session's transaction.

    `at` defers it to a later moment; arguments are ids, dates and numbers, never personal
    data (a job's arguments are stored in clear)."""
    bind = session.connection()
    if bind.dialect.name == "postgresql":
        postgres.defer(bind, task.value, dict(args or {}), at)
    else:
        embedded.defer(bind, task.value, dict(args or {}), at)
