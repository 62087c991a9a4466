"""procrastinate's job manager, taking and finishing jobs several to a round trip.

procrastinate takes one job a statement (`procrastinate_fetch_job_v2`) and finishes one a
statement (`procrastinate_finish_job_v1`): two round trips and two function calls a job, which
at hundreds of `deliver` jobs a second were a third of a worker's CPU and most of
PostgreSQL's. Here a worker takes as many jobs as it has threads with one statement (the same
choice as procrastinate's: by priority then age, skipping rows other workers hold, one job per
`lock` at a time), hands them out one by one as its threads free up, and the finishes that
arrive while one is on its way go together in the next: no job waits for others to finish.

A job taken and not yet started is `doing` under this worker's id, as a started one is: a
worker that dies leaves both to the stalled-job recovery, and one that stops puts the ones it
never started back (`release`)."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Iterable
from typing import Any, LiteralString

from procrastinate import BaseConnector
from procrastinate.jobs import Job, Status
from procrastinate.manager import JobManager

log = logging.getLogger(__name__)

# procrastinate_fetch_job_v2's choice, for `limit` jobs at once.
_TAKE: LiteralString = """
WITH candidate AS (
    SELECT jobs.id
        FROM procrastinate_jobs AS jobs
        WHERE NOT EXISTS (
                SELECT 1
                    FROM procrastinate_jobs AS other_jobs
                    WHERE jobs.lock IS NOT NULL
                        AND other_jobs.lock = jobs.lock
                        AND (
                            other_jobs.status = 'doing'
                            OR (
                                other_jobs.status = 'todo'
                                AND (
                                    other_jobs.priority > jobs.priority
                                    OR (
                                        other_jobs.priority = jobs.priority
                                        AND other_jobs.id < jobs.id
                                    )
                                )
                            )
                        )
            )
            AND jobs.status = 'todo'
            AND (%(queues)s::varchar[] IS NULL OR jobs.queue_name = ANY(%(queues)s::varchar[]))
            AND (jobs.scheduled_at IS NULL OR jobs.scheduled_at <= now())
        ORDER BY jobs.priority DESC, jobs.id ASC
        LIMIT %(limit)s
        FOR UPDATE OF jobs SKIP LOCKED
)
UPDATE procrastinate_jobs
    SET status = 'doing', worker_id = %(worker_id)s
    FROM candidate
    WHERE procrastinate_jobs.id = candidate.id
    RETURNING procrastinate_jobs.id, status, task_name, priority, lock, queueing_lock, args,
        scheduled_at, queue_name, attempts, worker_id
"""

_FINISH: LiteralString = """
SELECT procrastinate_finish_job_v1(job_id, end_status::procrastinate_job_status, delete_job)
    FROM unnest(%(ids)s::bigint[], %(statuses)s::varchar[], %(deletes)s::boolean[])
        AS finished(job_id, end_status, delete_job)
"""

# Jobs taken and never started go back as they were: no attempt was spent on them.
_RELEASE: LiteralString = """
UPDATE procrastinate_jobs SET status = 'todo', worker_id = NULL
    WHERE id = ANY(%(ids)s::bigint[]) AND status = 'doing' AND worker_id = %(worker_id)s
"""

_Finish = tuple[int, Status, bool, "asyncio.Future[None]"]


class BatchingJobManager(JobManager):
    """A job manager for one worker of `concurrency` threads."""

    def __init__(self, connector: BaseConnector, *, concurrency: int) -> None:
        super().__init__(connector)
        self._concurrency = concurrency
        self._taken: deque[Job] = deque()
        self._worker_id: int | None = None
        self._finishing: list[_Finish] = []
        self._flusher: asyncio.Task[None] | None = None

    async def fetch_job(self, queues: Iterable[str] | None, worker_id: int) -> Job | None:
        if not self._taken:
            self._worker_id = worker_id
            rows = await self.connector.execute_query_all_async(
                _TAKE,
                queues=list(queues) if queues is not None else None,
                worker_id=worker_id,
                limit=self._concurrency,
            )
            self._taken.extend(
                sorted(map(Job.from_row, rows), key=lambda job: (-job.priority, job.id or 0))
            )
        return self._taken.popleft() if self._taken else None

    async def finish_job(self, job: Job, status: Status, delete_job: bool) -> None:
        assert job.id is not None
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._finishing.append((job.id, status, delete_job, done))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        await done

    async def release(self) -> None:
        """Put back the jobs taken and never started (the worker stopped first)."""
        if not self._taken:
            return
        ids = [job.id for job in self._taken]
        self._taken.clear()
        try:
            await self.connector.execute_query_async(_RELEASE, ids=ids, worker_id=self._worker_id)
        except Exception as error:  # the worker is stopping anyway: leave them to the recovery
            log.warning(
                "could not put back %d jobs taken and not started (%s); the stalled-job "
                "recovery of a live worker will",
                len(ids),
                type(error).__name__,
            )
            return
        log.info("put back %d jobs taken and not started", len(ids))

    async def _flush(self) -> None:
        batch: list[_Finish] = []
        try:
            while self._finishing:
                batch, self._finishing = self._finishing, []
                try:
                    await self._finish_all(batch)
                except Exception:
                    # One bad finish (a job gone) must fail that job alone.
                    for job_id, status, delete_job, done in batch:
                        try:
                            await self.finish_job_by_id_async(job_id, status, delete_job)
                        except Exception as error:
                            _settle(done, error)
                        else:
                            _settle(done, None)
                else:
                    for *_, done in batch:
                        _settle(done, None)
        except BaseException:
            # The flush itself was cancelled (the loop ending): no waiter may hang on it.
            for *_, done in batch + self._finishing:
                done.cancel()
            self._finishing = []
            raise

    async def _finish_all(self, batch: list[_Finish]) -> None:
        if len(batch) == 1:
            job_id, status, delete_job, _ = batch[0]
            await self.finish_job_by_id_async(job_id, status, delete_job)
            return
        arguments: dict[str, Any] = {
            "ids": [job_id for job_id, *_ in batch],
            "statuses": [status.value for _, status, *_ in batch],
            "deletes": [delete_job for _, _, delete_job, _ in batch],
        }
        await self.connector.execute_query_async(_FINISH, **arguments)


def _settle(done: asyncio.Future[None], error: BaseException | None) -> None:
    if done.done():  # its waiter was cancelled
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(error)
