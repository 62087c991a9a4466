"""The queue on PostgreSQL: procrastinate's workers, with the vault's tasks registered.

Any number of `vault worker` processes on any number of hosts take jobs with row locks, so
each job runs in one of them. A worker that dies (SIGKILL, a lost host) stops its heartbeat;
every live worker looks for jobs of workers silent for three beats and puts them back."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import procrastinate
from procrastinate import JobContext, PsycopgConnector, RetryDecision
from procrastinate.jobs import Job
from procrastinate.retry import BaseRetryStrategy
from sqlalchemy.engine import make_url

from vault import db, queue
from vault.jobs import retries, schedule
from vault.jobs.retries import Tally
from vault.jobs.tasks import TASKS
from vault.jobs.work import Work
from vault.queue.postgres import QUEUE

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Doubling(BaseRetryStrategy):
    first_seconds: float = 30.0

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if job.attempts >= retries.RETRIES:
            return None
        return RetryDecision(
            retry_at=db.utc_now() + retries.delay(self.first_seconds, job.attempts + 1)
        )


def conninfo(database_url: str) -> str:
    """The libpq form of the SQLAlchemy URL (`postgresql+psycopg://…`)."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def build(work: Work, database_url: str, tally: Tally, *, periodic: bool) -> procrastinate.App:
    app = procrastinate.App(connector=PsycopgConnector(conninfo=conninfo(database_url)))
    strategy = _Doubling(first_seconds=work.retry_seconds)
    for task, func in TASKS.items():
        app.task(name=task.value, queue=QUEUE, pass_context=True, retry=strategy)(
            _counted(work, func, tally)
        )

    def run_due(timestamp: int | None = None) -> None:
        schedule.tick(work.engine)

    # Registered whatever the worker does with it: a minute's tick another worker queued is
    # run by a `--burst` too, not failed as unknown.
    every_minute = app.task(name=queue.Task.RUN_DUE.value, queue=QUEUE, queueing_lock="run_due")(
        run_due
    )
    if periodic:
        app.periodic(cron="* * * * *", periodic_id="run_due")(every_minute)
    return app


def _counted(work: Work, func: Callable[..., Any], tally: Tally) -> Callable[..., None]:
    def run(context: JobContext, **kwargs: Any) -> None:
        tally.ran += 1
        try:
            func(work, **kwargs)
        except Exception:
            assert context.job is not None
            if context.job.attempts >= retries.RETRIES:
                tally.failed_for_good += 1
            raise

    return run


async def _recover_stalled(app: procrastinate.App, heartbeat: float) -> None:
    """Put back the jobs of workers silent for three beats (killed, or their host lost)."""
    while True:
        for job in await app.job_manager.get_stalled_jobs(
            queue=QUEUE, seconds_since_heartbeat=3 * heartbeat
        ):
            log.warning("job %s (%s) of a stalled worker runs again", job.id, job.task_name)
            await app.job_manager.retry_job(job)
        await asyncio.sleep(heartbeat)


async def _work(app: procrastinate.App, *, concurrency: int, heartbeat: float, burst: bool) -> None:
    # The tasks are sync: the worker runs each in the loop's default executor, whose threads
    # number min(32, CPUs + 4) unless set, so on two cores `--concurrency 12` ran 6 jobs at
    # once (a gateway taking 1 s: 6 jobs/s, not 12). A thread per job, and four for the loop's
    # own calls (a DNS lookup for a new connection must not wait for a job to end).
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(max_workers=concurrency + 4, thread_name_prefix="vault-job")
    )
    async with app.open_async():
        recovery = asyncio.create_task(_recover_stalled(app, heartbeat))
        try:
            while True:
                await app.run_worker_async(
                    queues=[QUEUE],
                    concurrency=concurrency,
                    wait=not burst,
                    install_signal_handlers=True,
                    update_heartbeat_interval=heartbeat,
                    stalled_worker_timeout=3 * heartbeat,
                    delete_jobs="successful",
                    listen_notify=not burst,
                )
                if not burst:
                    return
                # Retries wait in the queue with a later start: a burst waits for them too.
                later = await _next_scheduled(app)
                if later is None:
                    return
                await asyncio.sleep(max(0.2, (later - db.utc_now()).total_seconds() + 0.05))
        finally:
            recovery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await recovery


async def _next_scheduled(app: procrastinate.App) -> datetime | None:
    row = await app.connector.execute_query_one_async(
        "SELECT min(scheduled_at) AS at FROM procrastinate_jobs "
        "WHERE queue_name = %(queue)s AND status IN ('todo', 'doing')",
        queue=QUEUE,
    )
    return row["at"]  # type: ignore[no-any-return]


def run(work: Work, database_url: str, *, concurrency: int, heartbeat: float, burst: bool) -> Tally:
    tally = Tally()
    app = build(work, database_url, tally, periodic=not burst)
    asyncio.run(_work(app, concurrency=concurrency, heartbeat=heartbeat, burst=burst))
    return tally
