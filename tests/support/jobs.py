"""Notices to deliver and `vault worker` processes to deliver them, for the queue's tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlmodel import select

from tests.support.api import register
from tests.support.env import settings_env
from tests.support.sinks import WebhookReceiver
from vault import db
from vault.accounts import citizens
from vault.jobs import runner
from vault.kit import days
from vault.notices import contacts, texts
from vault.notices.models import Delivery, DeliveryState
from vault.settings import Settings

SECRET = "a-gateway-secret-of-some-length"


def wired(settings: Settings, receiver: WebhookReceiver, **more: object) -> Settings:
    """The settings with the receiver as the notices' gateway."""
    gateway = {"notify_webhook_url": receiver.url, "notify_webhook_secret": SecretStr(SECRET)}
    return settings.model_copy(update=gateway | more)


def announce(app: FastAPI, client: TestClient, count: int) -> list[uuid.UUID]:
    """`count` notices to one citizen who has the gateway turned on: one delivery job each."""
    citizen = uuid.UUID(register(client).id)
    keyring = app.state.backend.keyring
    with db.unit_of_work(app.state.engine) as session:
        contacts.update(session, keyring, citizen, webhook_on=True)
        for _ in range(count):
            notice = texts.paper_expired(uuid.uuid4(), "Hộ chiếu phổ thông", days.today())
            citizens.announce(session, keyring, citizen, notice)
    with db.unit_of_work(app.state.engine, writes=False) as session:
        return list(session.exec(select(Delivery.id)).all())


def worker(settings: Settings, log: Path, *args: str) -> subprocess.Popen[bytes]:
    env = os.environ | settings_env(settings) | {"PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "vault", "worker", *args], env=env, stdout=out, stderr=out
        )


def kill_inside_a_job(process: subprocess.Popen[bytes], receiver: WebhookReceiver) -> None:
    """SIGKILL the worker while it waits on the receiver (told to hold) inside a job."""
    try:
        receiver.wait_for(1, timeout=30)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    finally:
        if process.poll() is None:
            process.kill()


def states(app: FastAPI) -> list[DeliveryState]:
    with db.unit_of_work(app.state.engine, writes=False) as session:
        return list(session.exec(select(Delivery.state)).all())


def deliveries_queued(settings: Settings) -> list[str]:
    """The states of the delivery jobs still in the queue (a worker's minute tick may be there
    too)."""
    return [job.state for job in runner.jobs(settings, failed=False) if job.task == "deliver"]


def wait_until(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
