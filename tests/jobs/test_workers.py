"""`vault worker` processes on PostgreSQL: each job once across workers, nothing lost to a
SIGKILL, a clean stop on SIGTERM."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.conftest import Stack
from tests.support import jobs
from tests.support.processes import stop
from tests.support.sinks import WebhookReceiver
from vault.jobs import runner
from vault.notices.models import DeliveryState
from vault.queue.postgres import QUEUE
from vault.settings import Settings

pytestmark = pytest.mark.parametrize("stack", [Stack("postgresql", "file")], indirect=True, ids=str)


@pytest.fixture
def wired(settings: Settings, receiver: WebhookReceiver) -> Settings:
    return jobs.wired(settings, receiver, worker_heartbeat_seconds=0.5)


def test_two_workers_handle_each_job_once(
    app: FastAPI, client: TestClient, wired: Settings, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    deliveries = jobs.announce(app, client, 120)
    logs = [tmp_path / "worker-1.log", tmp_path / "worker-2.log"]
    # --verbose: a line for each job, which tells which worker took it.
    workers = [jobs.worker(wired, log, "--concurrency", "2", "--verbose") for log in logs]
    try:
        jobs.wait_until(lambda: jobs.states(app).count(DeliveryState.SENT) == len(deliveries))
    finally:
        for worker in workers:
            stop(worker)
    assert [worker.returncode for worker in workers] == [0, 0]
    seen = [r.json()["event_id"] for r in receiver.delivered]
    assert sorted(seen) == sorted(str(d) for d in deliveries)  # each once, none twice
    ran = [log.read_text().count("Job deliver") for log in logs]
    assert all(ran), f"both workers took jobs: {ran}"
    assert jobs.deliveries_queued(wired) == []


def test_a_job_of_a_killed_worker_completes_once_afterwards(
    app: FastAPI, client: TestClient, wired: Settings, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    receiver.hold_next(30.0)
    (delivery,) = jobs.announce(app, client, 1)
    jobs.kill_inside_a_job(jobs.worker(wired, tmp_path / "first.log"), receiver)
    assert jobs.states(app) == [DeliveryState.PENDING]
    assert jobs.deliveries_queued(wired) == ["doing"]

    second = jobs.worker(wired, tmp_path / "second.log")
    try:
        jobs.wait_until(lambda: jobs.states(app) == [DeliveryState.SENT])
    finally:
        stop(second)
    assert second.returncode == 0  # SIGTERM: a clean stop
    assert [r.json()["event_id"] for r in receiver.delivered] == [str(delivery)]
    assert jobs.deliveries_queued(wired) == []
    assert "runs again" in (tmp_path / "second.log").read_text()


def test_a_stalled_tick_already_queued_again_is_dropped(
    app: FastAPI, wired: Settings, tmp_path: Path
) -> None:
    """A killed worker's minute tick, when a live worker's scheduler has deferred the next one
    meanwhile: putting the stalled one back would break the tick's queueing lock."""
    with app.state.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO procrastinate_jobs (queue_name, task_name, queueing_lock, status, "
                "scheduled_at) VALUES (:queue, 'run_due', 'run_due', 'todo', now() + "
                "interval '1 hour'), (:queue, 'run_due', 'run_due', 'doing', NULL)"
            ),
            {"queue": QUEUE},
        )

    def ticks() -> list[str]:
        return [job.state for job in runner.jobs(wired, failed=False) if job.task == "run_due"]

    worker = jobs.worker(wired, tmp_path / "worker.log")
    try:
        jobs.wait_until(lambda: "doing" not in ticks())
    finally:
        stop(worker)
    assert worker.returncode == 0
    assert ticks() == ["todo"]
    assert "this copy is dropped" in (tmp_path / "worker.log").read_text()
