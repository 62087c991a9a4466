"""A job that keeps failing ends as failed for good: listed, counted on /metrics, retried by
hand, never silently dropped; its delivery ends failed, not pending for ever."""

from __future__ import annotations

import json

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import select
from typer.testing import CliRunner

from tests.support import jobs
from tests.support.env import settings_env
from tests.support.sinks import WebhookReceiver
from vault import db
from vault.cli import app as cli
from vault.notices.models import Delivery, DeliveryState
from vault.settings import Settings

pytestmark = pytest.mark.journey  # whole journeys: the full tier, not the edit loop

runner = CliRunner()


def test_a_delivery_that_keeps_failing_is_kept_listed_and_retried_by_hand(
    app: FastAPI, client: TestClient, settings: Settings, receiver: WebhookReceiver
) -> None:
    wired = jobs.wired(settings, receiver, job_retry_seconds=0.01)
    env = settings_env(wired)
    receiver.respond = lambda received: 503  # the receiver is down
    (delivery,) = jobs.announce(app, client, 1)

    burst = runner.invoke(cli, ["worker", "--burst"], env=env)
    assert burst.exit_code == 1, burst.output
    assert "1 jobs failed for good" in burst.output
    assert len(receiver.received) == 8 and receiver.delivered == []  # eight runs, then it stops
    failed = json.loads(runner.invoke(cli, ["jobs", "list", "--failed", "--json"], env=env).stdout)
    assert [(job["task"], job["state"], job["args"]) for job in failed] == [
        ("deliver", "failed", {"delivery": str(delivery)})
    ]
    metrics = client.get("/metrics").text
    assert 'vault_jobs{state="failed"} 1.0' in metrics
    # Given up: the alert on the oldest pending delivery is free to tell of the next backlog.
    assert 'vault_notice_deliveries{channel="webhook",state="failed"} 1.0' in metrics
    assert "vault_notice_oldest_pending_seconds 0.0" in metrics
    assert _outcome(app) == (DeliveryState.FAILED, "gave up after 8 attempts")

    receiver.respond = lambda received: 200  # and back
    retried = runner.invoke(cli, ["jobs", "retry", failed[0]["id"]], env=env)
    assert retried.exit_code == 0, retried.output
    assert _outcome(app) == (DeliveryState.PENDING, None)
    assert runner.invoke(cli, ["jobs", "retry", failed[0]["id"]], env=env).exit_code == 2
    assert runner.invoke(cli, ["worker", "--burst"], env=env).exit_code == 0
    assert [r.json()["event_id"] for r in receiver.delivered] == [str(delivery)]
    listed = runner.invoke(cli, ["jobs", "list", "--failed"], env=env)
    assert listed.stdout.strip() == "no failed jobs"
    assert 'vault_jobs{state="failed"} 0.0' in client.get("/metrics").text
    assert _outcome(app)[0] is DeliveryState.SENT


def _outcome(app: FastAPI) -> tuple[DeliveryState, str | None]:
    with db.unit_of_work(app.state.engine, writes=False) as session:
        (delivery,) = session.exec(select(Delivery)).all()
        return delivery.state, delivery.last_error
