"""The one place that picks the queue by database: what `vault worker`, `vault jobs …` and
`vault serve` call."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import procrastinate
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from vault import db, queue
from vault.jobs import embedded, postgres, schedule, tasks
from vault.jobs.retries import Tally
from vault.jobs.work import Work
from vault.settings import Settings


@dataclass(frozen=True)
class Job:
    id: str
    task: str
    state: str
    attempts: int | None
    scheduled_at: datetime | None
    args: dict[str, Any]


def on_postgres(settings: Settings) -> bool:
    return make_url(settings.resolved_database_url).get_backend_name() == "postgresql"


def sqlite_file(settings: Settings) -> Path:
    database = make_url(settings.resolved_database_url).database
    assert database, "the embedded queue needs a database file"
    return Path(database)


def work(settings: Settings, *, concurrency: int, burst: bool, log_each_job: bool = False) -> Tally:
    """`vault worker`: until SIGTERM (after the jobs in hand), or with `burst` until empty.
    `log_each_job`: a line when each job starts and ends well too (PostgreSQL's worker; the
    embedded queue's huey always logs them)."""
    if on_postgres(settings):
        doer = Work.from_settings(settings, engine=postgres.engine(settings.resolved_database_url))
        return postgres.run(
            doer,
            settings.resolved_database_url,
            concurrency=concurrency,
            heartbeat=settings.worker_heartbeat_seconds,
            burst=burst,
            log_each_job=log_each_job,
        )
    tally = Tally()
    doer = Work.from_settings(settings)
    huey = embedded.build(doer, sqlite_file(settings), tally, periodic=not burst)
    if burst:
        embedded.burst(huey)
    else:
        huey.create_consumer(
            workers=concurrency, worker_type="thread", graceful_signal="TERM", max_delay=1.0
        ).run()
    return tally


def run_due(settings: Settings, at: datetime) -> tuple[list[tuple[queue.Task, str]], Tally]:
    """Enqueue the periodic work due at `at` that has not run for its slot, then run the
    queue to empty: "tomorrow morning", made to happen now."""
    engine = db.make_engine(settings.resolved_database_url)
    with db.unit_of_work(engine) as session:
        enqueued = schedule.enqueue_due(session, at)
    return enqueued, work(settings, concurrency=1, burst=True)


def jobs(settings: Settings, *, failed: bool) -> list[Job]:
    if on_postgres(settings):
        return _postgres_jobs(db.make_engine(settings.resolved_database_url), failed=failed)
    huey = embedded.build(None, sqlite_file(settings), Tally(), periodic=False)
    out = [
        Job(job_id, task.name, "failed", None, None, dict(task.kwargs))
        for job_id, task in embedded.failed_jobs(huey).items()
    ]
    if not failed:
        out += [Job(t.id, t.name, "todo", None, None, dict(t.kwargs)) for t in huey.pending()]
        out += [
            Job(t.id, t.name, "scheduled", None, t.eta, dict(t.kwargs)) for t in huey.scheduled()
        ]
    return out


def retry(settings: Settings, job_id: str) -> bool:
    """What the job gave up on (a delivery recorded failed) is taken up again before the job
    is queued: queued first, it could run, find nothing pending and end well, sending nothing."""
    failed = next((job for job in jobs(settings, failed=True) if job.id == job_id), None)
    if failed is None:
        return False
    engine = db.make_engine(settings.resolved_database_url)
    try:
        tasks.retried(engine, failed.task, failed.args)
    finally:
        engine.dispose()
    if not on_postgres(settings):
        huey = embedded.build(None, sqlite_file(settings), Tally(), periodic=False)
        return embedded.retry(huey, job_id, first_delay=settings.job_retry_seconds)

    async def again() -> bool:
        app = procrastinate.App(
            connector=procrastinate.PsycopgConnector(
                conninfo=postgres.conninfo(settings.resolved_database_url)
            )
        )
        async with app.open_async():
            status = await app.job_manager.get_job_status_async(int(job_id))
            if status is not procrastinate.jobs.Status.FAILED:
                return False
            await app.job_manager.retry_job_by_id_async(int(job_id), db.utc_now())
            return True

    try:
        return asyncio.run(again())
    except procrastinate.exceptions.ProcrastinateException:
        return False


def _postgres_jobs(engine: Engine, *, failed: bool) -> list[Job]:
    states = "('failed')" if failed else "('todo', 'doing', 'failed')"
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT id, task_name, status, attempts, scheduled_at, args "
                f"FROM procrastinate_jobs WHERE status IN {states} ORDER BY id"
            )
        ).all()
    return [
        Job(str(r.id), r.task_name, r.status, r.attempts, r.scheduled_at, _args(r.args))
        for r in rows
    ]


def _args(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else json.loads(value or "{}")


def counts(engine: Engine, settings: Settings) -> dict[str, int]:
    """Jobs by state, for /metrics."""
    if on_postgres(settings):
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT status, count(*) FROM procrastinate_jobs GROUP BY status")
            ).all()
        return {str(status): int(count) for status, count in rows}
    with engine.connect() as connection:
        todo = connection.execute(text("SELECT count(*) FROM task")).scalar_one()
        later = connection.execute(text("SELECT count(*) FROM schedule")).scalar_one()
        failed = connection.execute(
            text("SELECT count(*) FROM kv WHERE key LIKE 'failed:%'")
        ).scalar_one()
    return {"todo": int(todo) + int(later), "failed": int(failed)}


def oldest_waiting_seconds(engine: Engine, settings: Settings) -> float | None:
    """How long the oldest job due now has waited, on PostgreSQL (procrastinate notes when
    each job was deferred); None on the embedded queue, whose table keeps no time, and when
    nothing waits. A queue nobody works off shows here before anyone complains."""
    if not on_postgres(settings):
        return None
    with engine.connect() as connection:
        waited = connection.execute(
            text(
                "SELECT EXTRACT(EPOCH FROM now() - min(greatest(e.at, j.scheduled_at))) "
                "FROM procrastinate_jobs j JOIN procrastinate_events e "
                "ON e.job_id = j.id AND e.type = 'deferred' "
                "WHERE j.status = 'todo' AND (j.scheduled_at IS NULL OR j.scheduled_at <= now())"
            )
        ).scalar_one()
    return float(waited) if waited is not None else None


def failed_by_task(engine: Engine, settings: Settings) -> dict[str, int]:
    """Jobs failed for good, by task: an anchor that keeps failing is not a reminder."""
    if on_postgres(settings):
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT task_name, count(*) FROM procrastinate_jobs "
                    "WHERE status = 'failed' GROUP BY task_name"
                )
            ).all()
        return {str(task): int(count) for task, count in rows}
    huey = embedded.build(None, sqlite_file(settings), Tally(), periodic=False)
    return dict(Counter(task.name for task in embedded.failed_jobs(huey).values()))
