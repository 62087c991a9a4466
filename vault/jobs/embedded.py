"""The queue on the embedded SQLite file: huey, run by threads inside `vault serve`.

huey's tables live in the vault's own database file (see vault.queue.embedded). huey takes a
job off its table before running it, so a process killed mid-job loses that run; the tasks
make up for it rather than rely on the queue alone: a delivery left pending and unheld is
queued again by the minute's tick (`recover`), and reminders announce the most urgent one
due, so a day missed is made good the next."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from huey import SqliteHuey, crontab, signals
from huey.api import Task as HueyTask
from huey.consumer import Consumer

from vault import db, queue
from vault.jobs import retries, schedule, tasks
from vault.jobs.retries import Tally
from vault.jobs.work import Work
from vault.notices import outbox
from vault.queue import embedded as embedded_queue

log = logging.getLogger(__name__)
_FAILED = "failed:"
# Longer than any one send may take (SMTP and webhook time out well before).
LOST_AFTER = timedelta(minutes=10)


def build(work: Work | None, database: Path, tally: Tally, *, periodic: bool) -> SqliteHuey:
    """With no `work`, a huey that reads and edits the queue (`vault jobs …`) but runs
    nothing: listing jobs needs no key."""
    huey = SqliteHuey(
        name=embedded_queue.QUEUE,
        filename=str(database),
        results=False,
        utc=True,
        timeout=30,
        create_tables=False,
    )
    for task, func in tasks.TASKS.items():
        huey.task(
            name=task.value,
            retries=retries.RETRIES,
            retry_delay=work.retry_seconds if work else 0,
            retry_backoff=2,
        )(_named(task.value, _counted(work, func, tally)))

    def minute(work: Work) -> None:
        schedule.tick(work.engine)
        recover(huey, work)

    # Registered whatever the process does with it: a minute's tick another process queued
    # is read (`vault jobs list`) and run (`--burst`) like any job.
    every_minute = _named(queue.Task.RUN_DUE.value, _counted(work, minute, Tally()))
    if periodic:
        huey.periodic_task(crontab(), name=queue.Task.RUN_DUE.value)(every_minute)
    else:
        huey.task(name=queue.Task.RUN_DUE.value)(every_minute)

    def failed(signal: str, task: HueyTask, exc: BaseException | None = None) -> None:
        # huey counts down the retries left: none on the last run.
        if not task.retries:
            tally.failed_for_good += 1
            # Kept in huey's own key-value table, for `vault jobs list --failed` and a retry.
            huey.storage.put_data(f"{_FAILED}{task.id}", huey.serialize_task(task))
            if work is not None:
                tasks.gave_up(work, task.name, task.kwargs, runs=retries.RETRIES + 1)

    huey.signal(signals.SIGNAL_ERROR)(failed)

    return huey


def _named(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """huey finds a task by its function's module and name: the ones the queue writes."""
    func.__module__ = embedded_queue.task_module()
    func.__name__ = func.__qualname__ = name
    return func


def _counted(work: Work | None, func: Callable[..., Any], tally: Tally) -> Callable[..., None]:
    def run(**kwargs: Any) -> None:
        if work is None:
            raise RuntimeError("this queue was opened to be read, not to run jobs")
        tally.ran += 1
        func(work, **kwargs)

    return run


class InProcess(Consumer):  # type: ignore[misc]
    """huey's consumer on threads, without its signal handlers: the server owns the signals."""

    def _set_signal_handlers(self) -> None:
        pass


def start(huey: SqliteHuey, *, workers: int) -> InProcess:
    consumer = InProcess(
        huey,
        workers=workers,
        worker_type="thread",
        periodic=True,
        max_delay=1.0,
        check_worker_health=False,
        shutdown_timeout=10,
    )
    consumer.start()
    return consumer


def stop(consumer: InProcess) -> None:
    consumer.stop(graceful=True)


def burst(huey: SqliteHuey) -> None:
    """Run every job, those due later (retries) included, until none is left."""
    while True:
        task = huey.dequeue()
        if task is not None:
            huey.execute(task)
            continue
        now = datetime.now(UTC).replace(tzinfo=None)
        for due in huey.read_schedule(now):
            huey.enqueue(due)
        if huey.pending_count():
            continue
        waiting = huey.scheduled()
        if not waiting:
            return
        soonest = min(task.eta for task in waiting if task.eta is not None)
        time.sleep(max(0.05, (soonest - now).total_seconds()))


def recover(huey: SqliteHuey, work: Work, at: datetime | None = None) -> int:
    """Queue again the deliveries whose job a killed process took off the table: pending, not
    held by a job for `LOST_AFTER`, and with no job waiting, scheduled or failed for them."""
    jobs = [*huey.pending(), *huey.scheduled(), *failed_jobs(huey).values()]
    waiting = {t.kwargs.get("delivery") for t in jobs if t.name == queue.Task.DELIVER.value}
    with db.unit_of_work(work.engine) as session:
        lost = [
            delivery
            for delivery in outbox.lost(session, (at or db.utc_now()) - LOST_AFTER)
            if str(delivery) not in waiting
        ]
        for delivery in lost:
            queue.enqueue(session, queue.Task.DELIVER, {"delivery": str(delivery)})
    if lost:
        log.warning("queued again %d deliveries lost with a stopped process", len(lost))
    return len(lost)


def failed_jobs(huey: SqliteHuey) -> dict[str, HueyTask]:
    """By id: the jobs that failed for good, with their arguments."""
    return {
        key.removeprefix(_FAILED): huey.deserialize_task(data)
        for key, data in huey.storage.result_items().items()
        if key.startswith(_FAILED)
    }


def retry(huey: SqliteHuey, job_id: str, *, first_delay: float) -> bool:
    """Run a failed job once more, with its retries and their delays renewed. `first_delay`
    is the setting's: the huey that `vault jobs` opens runs nothing and registers its tasks
    without one."""
    data = huey.storage.pop_data(f"{_FAILED}{job_id}")
    if not isinstance(data, bytes):
        return False
    task = huey.deserialize_task(data)
    task.retries = retries.RETRIES
    task.retry_delay = first_delay
    huey.enqueue(task)
    return True
