"""Taking and finishing procrastinate's jobs several to a round trip: the same choice as
procrastinate's own (priority, age, one job per lock, rows others hold skipped), no job taken
twice by racing workers, a bad finish failing alone, unstarted jobs put back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import psycopg
import pytest
from procrastinate import App, PsycopgConnector
from procrastinate.jobs import Job, Status

from tests.conftest import Stack
from vault import bootstrap
from vault.jobs.batches import BatchingJobManager
from vault.jobs.postgres import conninfo
from vault.settings import Settings

pytestmark = pytest.mark.parametrize("stack", [Stack("postgresql", "file")], indirect=True, ids=str)

QUEUE = "batches-test"


@pytest.fixture
def url(settings: Settings) -> str:
    bootstrap.prepare(settings)
    return conninfo(settings.resolved_database_url)


@asynccontextmanager
async def manager(url: str, concurrency: int) -> AsyncIterator[tuple[BatchingJobManager, int]]:
    app = App(connector=PsycopgConnector(conninfo=url, kwargs={"autocommit": True}))
    async with app.open_async():
        jobs = BatchingJobManager(app.connector, concurrency=concurrency)
        worker_id = await jobs.register_worker()
        try:
            yield jobs, worker_id
        finally:
            await jobs.unregister_worker(worker_id)


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(test())  # type: ignore[arg-type]


def job(job_id: int | None = None, **fields: Any) -> Job:
    return Job(
        **{"lock": None, "queueing_lock": None, "task_kwargs": {}}
        | fields
        | {"id": job_id, "queue": QUEUE, "task_name": "t"}
    )


async def defer(jobs: BatchingJobManager, n: int, **fields: Any) -> list[int]:
    deferred = await jobs.batch_defer_jobs_async(
        [job(task_kwargs={"n": i}, **fields) for i in range(n)]
    )
    return [job.id for job in deferred if job.id is not None]


def rows(url: str) -> dict[int, tuple[str, int | None, int]]:
    with psycopg.connect(url) as connection:
        found = connection.execute(
            "SELECT id, status, worker_id, attempts FROM procrastinate_jobs WHERE queue_name = %s",
            [QUEUE],
        ).fetchall()
    return {job_id: (str(status), worker, attempts) for job_id, status, worker, attempts in found}


def test_one_statement_takes_as_many_jobs_as_threads_in_procrastinates_order(url: str) -> None:
    async def test() -> None:
        async with manager(url, 3) as (jobs, worker_id):
            low = await defer(jobs, 2, priority=0)
            high = await defer(jobs, 2, priority=5)
            first = await jobs.fetch_job([QUEUE], worker_id)
            assert first is not None and first.id == high[0]
            # The other two of the batch are doing, under this worker; the rest wait.
            states = rows(url)
            assert states[high[1]][:2] == states[low[0]][:2] == ("doing", worker_id)
            assert states[low[1]][0] == "todo"
            taken = [await jobs.fetch_job([QUEUE], worker_id) for _ in range(3)]
            assert [job.id for job in taken if job] == [high[1], low[0], low[1]]
            assert await jobs.fetch_job([QUEUE], worker_id) is None
            assert await jobs.fetch_job(["another-queue"], worker_id) is None

    run(test)


def test_one_job_of_a_lock_at_a_time(url: str) -> None:
    async def test() -> None:
        async with manager(url, 4) as (jobs, worker_id):
            locked = await defer(jobs, 3, lock="citizen-1")
            free = await defer(jobs, 1)
            taken = [await jobs.fetch_job([QUEUE], worker_id) for _ in range(2)]
            assert [job.id for job in taken if job] == [locked[0], free[0]]
            assert await jobs.fetch_job([QUEUE], worker_id) is None  # the lock is held
            await jobs.finish_job(taken[0], Status.SUCCEEDED, delete_job=True)  # type: ignore[arg-type]
            again = await jobs.fetch_job([QUEUE], worker_id)
            assert again is not None and again.id == locked[1]

    run(test)


def test_racing_workers_never_take_the_same_job(url: str) -> None:
    async def take_all(jobs: BatchingJobManager, worker_id: int) -> list[int]:
        taken = []
        while (job := await jobs.fetch_job([QUEUE], worker_id)) is not None:
            assert job.id is not None
            taken.append(job.id)
            await jobs.finish_job(job, Status.SUCCEEDED, delete_job=True)
        return taken

    async def test() -> None:
        async with manager(url, 4) as (one, one_id), manager(url, 3) as (other, other_id):
            deferred = await defer(one, 300)
            mine, theirs = await asyncio.gather(take_all(one, one_id), take_all(other, other_id))
            assert mine and theirs
            assert sorted(mine + theirs) == sorted(deferred)  # each once
            assert rows(url) == {}

    run(test)


def test_finishes_arriving_together_go_in_one_statement_and_a_bad_one_fails_alone(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def test() -> None:
        async with manager(url, 4) as (jobs, worker_id):
            await defer(jobs, 4)
            taken = [await jobs.fetch_job([QUEUE], worker_id) for _ in range(4)]
            statements: list[str] = []
            execute = jobs.connector.execute_query_async

            async def counted(query: str, **arguments: Any) -> None:
                statements.append(query)
                await execute(query, **arguments)

            monkeypatch.setattr(jobs.connector, "execute_query_async", counted)
            one, two, three, four = (job for job in taken if job is not None)
            await asyncio.gather(
                jobs.finish_job(one, Status.SUCCEEDED, delete_job=True),
                jobs.finish_job(two, Status.FAILED, delete_job=False),
            )
            assert len(statements) == 1
            missing = job(10**12)
            outcomes = await asyncio.gather(
                jobs.finish_job(three, Status.SUCCEEDED, delete_job=True),
                jobs.finish_job(missing, Status.SUCCEEDED, delete_job=True),
                jobs.finish_job(four, Status.FAILED, delete_job=False),
                return_exceptions=True,
            )
            assert outcomes[0] is None and outcomes[2] is None
            assert "not found" in str(getattr(outcomes[1], "__cause__", None))
            # The three together failed on the missing job: then each alone.
            assert len(statements) == 1 + 1 + 3
            assert rows(url) == {
                two.id: ("failed", worker_id, 1),
                four.id: ("failed", worker_id, 1),
            }

    run(test)


def test_jobs_taken_and_not_started_are_put_back_as_they_were(url: str) -> None:
    async def test() -> None:
        async with manager(url, 4) as (jobs, worker_id):
            deferred = await defer(jobs, 3)
            started = await jobs.fetch_job([QUEUE], worker_id)
            assert started is not None
            await jobs.release()
            assert rows(url) == {
                deferred[0]: ("doing", worker_id, 0),
                deferred[1]: ("todo", None, 0),
                deferred[2]: ("todo", None, 0),
            }
            await jobs.release()  # nothing left to put back: no statement
            again = await jobs.fetch_job([QUEUE], worker_id)
            assert again is not None and again.id == deferred[1]

    run(test)


def test_a_flush_cancelled_midway_leaves_no_finish_waiting_for_ever(url: str) -> None:
    async def test() -> None:
        async with manager(url, 2) as (jobs, worker_id):
            await defer(jobs, 2)
            one, two = [await jobs.fetch_job([QUEUE], worker_id) for _ in range(2)]
            assert one is not None and two is not None
            first = asyncio.create_task(jobs.finish_job(one, Status.SUCCEEDED, delete_job=True))
            await asyncio.sleep(0)  # its flush is on its way
            second = asyncio.create_task(jobs.finish_job(two, Status.SUCCEEDED, delete_job=True))
            await asyncio.sleep(0)
            assert jobs._flusher is not None
            jobs._flusher.cancel()
            outcomes = await asyncio.wait_for(
                asyncio.gather(first, second, return_exceptions=True), timeout=5
            )
            assert all(isinstance(outcome, asyncio.CancelledError) for outcome in outcomes)

    run(test)


def test_a_put_back_that_fails_leaves_the_jobs_to_the_stalled_job_recovery(
    url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def test() -> None:
        async with manager(url, 3) as (jobs, worker_id):
            await defer(jobs, 3)
            assert await jobs.fetch_job([QUEUE], worker_id) is not None

            async def down(query: str, **arguments: Any) -> None:
                raise psycopg.OperationalError("the server is gone")

            with monkeypatch.context() as patched:
                patched.setattr(jobs.connector, "execute_query_async", down)
                await jobs.release()  # the worker's stop goes on
            assert "could not put back 2 jobs" in caplog.text
            assert sorted(state for state, *_ in rows(url).values()) == ["doing"] * 3
        # Its worker gone, the stalled-job recovery finds all three.
        async with manager(url, 1) as (other, _):
            stalled = await other.get_stalled_jobs(queue=QUEUE, seconds_since_heartbeat=60)
            assert len(stalled) == 3

    run(test)
