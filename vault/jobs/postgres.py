"""The queue on PostgreSQL: procrastinate's workers, with the vault's tasks registered.

Any number of `vault worker` processes on any number of hosts take jobs with row locks, so
each job runs in one of them. A worker that dies (SIGKILL, a lost host) stops its heartbeat;
every live worker looks for jobs of workers silent for three beats and puts them back."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import procrastinate
import psycopg
from procrastinate import JobContext, PsycopgConnector, RetryDecision
from procrastinate.jobs import Job, Status
from procrastinate.retry import BaseRetryStrategy
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import Engine, event, exc
from sqlalchemy.engine import make_url

from vault import db, queue
from vault.db.per_thread import ended
from vault.jobs import retries, schedule, tasks
from vault.jobs.batches import BatchingJobManager
from vault.jobs.retries import Tally
from vault.jobs.work import Work
from vault.queue.postgres import QUEUE

log = logging.getLogger(__name__)
# procrastinate's log lines for a job that went well, by their `action`: two a job, which at
# hundreds of jobs a second cost a worker 5 % of its CPU for a log nobody reads. A job's error,
# retry or abort, and the worker's own start and stop, are still logged.
_ROUTINE = frozenset({"start_job", "job_success"})


class _Unroutine(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return getattr(record, "action", None) not in _ROUTINE


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


def build(work: Work, tally: Tally, *, periodic: bool, concurrency: int) -> procrastinate.App:
    """The app with the vault's tasks; its connector is given the worker's pool (`_pool`) when
    opened, and its jobs are taken and finished in batches (`batches`)."""
    app = procrastinate.App(connector=PsycopgConnector())
    app.job_manager = BatchingJobManager(app.connector, concurrency=concurrency)
    strategy = _Doubling(first_seconds=work.retry_seconds)
    for task, func in tasks.TASKS.items():
        app.task(name=task.value, queue=QUEUE, pass_context=True, retry=strategy)(
            _counted(work, task, func, tally)
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


def _counted(
    work: Work, task: queue.Task, func: Callable[..., Any], tally: Tally
) -> Callable[..., Awaitable[None]]:
    """The task as procrastinate runs it: an async function that hands the sync one to a
    thread of the loop's executor itself, since procrastinate's own hand-off of a sync task
    (asgiref's sync_to_async) cost a tenth of a worker's CPU. Nothing aborts a running job:
    the vault never asks procrastinate to."""

    def run(context: JobContext, kwargs: dict[str, Any]) -> None:
        tally.ran += 1
        try:
            func(work, **kwargs)
        except Exception:
            assert context.job is not None
            # procrastinate counts the runs before this one.
            if context.job.attempts >= retries.RETRIES:
                tally.failed_for_good += 1
                tasks.gave_up(work, task, kwargs, runs=context.job.attempts + 1)
            raise

    async def in_a_thread(context: JobContext, **kwargs: Any) -> None:
        await asyncio.get_running_loop().run_in_executor(
            None, functools.partial(run, context, kwargs)
        )

    return in_a_thread


def engine(database_url: str) -> Engine:
    """The tasks' engine: the pool's `SELECT 1` before each checkout (pool_pre_ping) was one
    of the four round trips of a `deliver` that had nothing left to do; a connection is now
    checked by `ended`, and one found ended is replaced before it is used."""
    tasks_engine = db.make_engine(database_url, pool_pre_ping=False)
    event.listen(tasks_engine, "checkout", _replace_if_dropped)
    return tasks_engine


def _replace_if_dropped(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    if ended(dbapi_connection.fileno()):
        raise exc.DisconnectionError("the server ended this connection")


async def _unless_dropped(connection: psycopg.AsyncConnection[Any]) -> None:
    """The pool's check of a connection before handing it out: the one procrastinate sets (an
    empty query) was a round trip before each of its statements. One `ended` says the
    server ended gets the real check, which fails and has the pool replace it."""
    if ended(connection.fileno()):
        await AsyncConnectionPool.check_connection(connection)


async def _autocommit(connection: psycopg.AsyncConnection[Any]) -> None:
    await connection.set_autocommit(True)


def _pool(database_url: str, concurrency: int) -> AsyncConnectionPool[Any]:
    """The worker's connections to the queue: autocommit, since each of procrastinate's
    statements is one function call that needs no transaction around it (without it, psycopg
    wraps each in BEGIN … COMMIT: three round trips for one); as many as the jobs in hand can
    finish at once, plus the fetch and the side tasks (heartbeat, aborts, stalled workers)."""
    return AsyncConnectionPool(
        conninfo(database_url),
        # Set once connected, not as a connect() argument: procrastinate opens its LISTEN
        # connection with the pool's arguments plus autocommit=True of its own.
        configure=_autocommit,
        min_size=2,
        max_size=concurrency + 2,
        check=_unless_dropped,
        open=False,
        name="vault-worker",
    )


async def _recover_stalled(app: procrastinate.App, heartbeat: float) -> None:
    """Put back the jobs of workers silent for three beats (killed, or their host lost). A
    stalled job whose queueing lock another job waiting already holds (the minute's tick,
    deferred again by a live worker's scheduler) is that same work queued twice: it is
    dropped, where putting it back failed on the lock and stopped the worker."""
    while True:
        for job in await app.job_manager.get_stalled_jobs(
            queue=QUEUE, seconds_since_heartbeat=3 * heartbeat
        ):
            log.warning("job %s (%s) of a stalled worker runs again", job.id, job.task_name)
            try:
                await app.job_manager.retry_job(job)
            except procrastinate.exceptions.UniqueViolation:
                log.warning(
                    "job %s (%s) is queued already: this copy is dropped", job.id, job.task_name
                )
                await app.job_manager.finish_job(job, Status.ABORTED, delete_job=True)
        await asyncio.sleep(heartbeat)


async def _work(
    app: procrastinate.App,
    database_url: str,
    *,
    concurrency: int,
    heartbeat: float,
    burst: bool,
) -> None:
    # The tasks are sync: the worker runs each in the loop's default executor, whose threads
    # number min(32, CPUs + 4) unless set, so on two cores `--concurrency 12` ran 6 jobs at
    # once (a gateway taking 1 s: 6 jobs/s, not 12). A thread per job, and four for the loop's
    # own calls (a DNS lookup for a new connection must not wait for a job to end).
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(max_workers=concurrency + 4, thread_name_prefix="vault-job")
    )
    async with _pool(database_url, concurrency) as pool, app.open_async(pool=pool):
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
            assert isinstance(app.job_manager, BatchingJobManager)
            await app.job_manager.release()


async def _next_scheduled(app: procrastinate.App) -> datetime | None:
    row = await app.connector.execute_query_one_async(
        "SELECT min(scheduled_at) AS at FROM procrastinate_jobs "
        "WHERE queue_name = %(queue)s AND status IN ('todo', 'doing')",
        queue=QUEUE,
    )
    return row["at"]  # type: ignore[no-any-return]


def run(
    work: Work,
    database_url: str,
    *,
    concurrency: int,
    heartbeat: float,
    burst: bool,
    log_each_job: bool,
) -> Tally:
    if not log_each_job:
        for name in ("procrastinate.worker", "procrastinate.worker.worker"):
            logging.getLogger(name).addFilter(_Unroutine())
    tally = Tally()
    app = build(work, tally, periodic=not burst, concurrency=concurrency)
    try:
        asyncio.run(
            _work(app, database_url, concurrency=concurrency, heartbeat=heartbeat, burst=burst)
        )
    finally:
        work.connections.close()
    return tally
