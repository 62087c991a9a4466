"""The worker container's health check (deploy/worker_health.py) against a real `vault worker`
on PostgreSQL: healthy while it beats, unhealthy before it starts and once it is gone."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.databases import scratch_database
from tests.support.processes import stop
from vault import db
from vault.jobs import postgres

CHECK = Path(__file__).resolve().parents[2] / "deploy" / "worker_health.py"


def check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CHECK)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.fixture
def own_database(postgres_server: str) -> Iterator[str]:
    """A database of this test's own: `vault keys init` writes the key's check value, which a
    database shared with other tests must never keep."""
    with scratch_database(postgres_server, "vault_health") as url:
        db.upgrade(url)
        yield url


@pytest.mark.servers
def test_healthy_while_a_worker_beats(own_database: str, tmp_path: Path) -> None:
    vault = shutil.which("vault") or str(Path(sys.executable).with_name("vault"))
    env = {
        "VAULT_DATA_DIR": str(tmp_path / "data"),
        "VAULT_DATABASE_URL": own_database,
        "VAULT_WORKER_HEARTBEAT_SECONDS": "1",
    }
    subprocess.run(
        [vault, "keys", "init"], env={**os.environ, **env}, check=True, capture_output=True
    )
    before = check(env)
    assert before.returncode == 1
    assert "no worker has beaten its heart within 3 s" in before.stderr
    with (tmp_path / "worker.log").open("wb") as log:
        worker = subprocess.Popen(
            [vault, "worker"], env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 60
        while (result := check(env)).returncode != 0:
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-2000:]
            assert time.monotonic() < deadline, result.stderr
            time.sleep(0.5)
        assert "1 live workers" in result.stdout
    finally:
        stop(worker, signal.SIGTERM)
    time.sleep(3.5)
    after = check(env)
    assert after.returncode == 1, after.stdout


def test_unhealthy_when_the_database_does_not_answer() -> None:
    url = "postgresql+psycopg://vault@127.0.0.1:9/vault"
    assert postgres.conninfo(url).startswith("postgresql://")
    result = check({"VAULT_DATABASE_URL": url})
    assert result.returncode == 1
    assert "the queue's database does not answer: OperationalError" in result.stderr
