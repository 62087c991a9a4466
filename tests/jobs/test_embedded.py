"""The embedded queue (huey, in the SQLite file): a job lost with a killed process is made good;
a job retried by hand waits between its runs again."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import Stack
from tests.support import jobs
from tests.support.sinks import WebhookReceiver
from vault import db
from vault.jobs import embedded, retries, runner
from vault.jobs.retries import Tally
from vault.jobs.runner import sqlite_file
from vault.jobs.work import Work
from vault.notices.models import DeliveryState
from vault.settings import Settings

pytestmark = pytest.mark.parametrize("stack", [Stack("sqlite", "file")], indirect=True, ids=str)


@pytest.mark.servers
def test_a_delivery_lost_with_a_killed_process_is_sent_once_afterwards(
    app: FastAPI, client: TestClient, settings: Settings, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    wired = jobs.wired(settings, receiver)
    receiver.hold_next(30.0)
    (delivery,) = jobs.announce(app, client, 1)
    jobs.kill_inside_a_job(jobs.worker(wired, tmp_path / "worker.log"), receiver)
    assert jobs.states(app) == [DeliveryState.PENDING]

    work = Work.from_settings(wired, engine=app.state.engine)
    huey = embedded.build(work, sqlite_file(wired), Tally(), periodic=False)
    # huey took the job off its table to run it: it is gone (the worker's minute ticks may wait)
    assert [task.name for task in huey.pending() if task.name == "deliver"] == []
    assert embedded.recover(huey, work) == 0  # held a moment ago: it may still be running
    later = db.utc_now() + embedded.LOST_AFTER + timedelta(seconds=1)
    assert embedded.recover(huey, work, at=later) == 1
    assert embedded.recover(huey, work, at=later) == 0  # queued: not twice
    embedded.burst(huey)
    assert jobs.states(app) == [DeliveryState.SENT]
    assert [r.json()["event_id"] for r in receiver.delivered] == [str(delivery)]


def test_a_job_retried_by_hand_waits_the_first_delay_before_its_next_run(
    app: FastAPI, client: TestClient, settings: Settings, receiver: WebhookReceiver
) -> None:
    """`vault jobs retry` opens a huey that runs nothing, whose tasks are registered with no
    delay: a retried job took that and ran its eight runs back to back."""
    wired = jobs.wired(settings, receiver, job_retry_seconds=0.01)
    receiver.respond = lambda received: 503
    jobs.announce(app, client, 1)
    work = Work.from_settings(wired, engine=app.state.engine)
    huey = embedded.build(work, sqlite_file(wired), Tally(), periodic=False)
    embedded.burst(huey)
    (failed,) = runner.jobs(wired, failed=True)

    assert runner.retry(wired.model_copy(update={"job_retry_seconds": 45.0}), failed.id)

    (again,) = [task for task in huey.pending() if task.name == "deliver"]
    assert (again.retries, again.retry_delay) == (retries.RETRIES, 45.0)
