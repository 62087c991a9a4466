"""How `vault serve` ends: `kill -9` of it (or of its supervisor) takes every process of it
along, and SIGTERM ends it within its grace period even with a request that would never end."""

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx2
import psutil
import pytest

from tests.conftest import Stack
from tests.support import files
from tests.support.api import PASSWORD, new_national_id
from tests.support.env import settings_env
from tests.support.outages import frozen
from tests.support.server import RunningServer, vault_server
from tests.support.transfer import multipart
from vault.settings import Settings

GRACE = 3
# Starting Python and reaching the signal handler on a loaded 2-core machine.
MARGIN = 10


def _login(client: httpx2.Client) -> dict[str, str]:
    number = new_national_id()
    created = client.post(
        "/api/v1/citizens",
        json={"national_id": number, "full_name": "Phan Văn Tắt", "password": PASSWORD},
    )
    assert created.status_code == 201, created.text
    token = client.post("/api/v1/auth/token", data={"username": number, "password": PASSWORD})
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def _upload(client: httpx2.Client, headers: dict[str, str]) -> httpx2.Response:
    return client.post(
        "/api/v1/documents",
        headers=headers,
        data={"doc_type": "GKS"},
        files=[("file", ("giay-khai-sinh.pdf", files.pdf(), "application/pdf"))],
    )


def _belongs_to(process: psutil.Process, data_dir: str) -> bool:
    """Every process of a vault server inherits its environment, whoever its parent is now."""
    try:
        return (
            process.status() != psutil.STATUS_ZOMBIE
            and process.environ().get("VAULT_DATA_DIR") == data_dir
        )
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def _survivors(started: list[psutil.Process], data_dir: str) -> list[psutil.Process]:
    known = {process.pid for process in started}
    found = [p for p in started if _belongs_to(p, data_dir)]
    return found + [
        p for p in psutil.process_iter() if p.pid not in known and _belongs_to(p, data_dir)
    ]


def _wait_gone(started: list[psutil.Process], data_dir: str, within: float) -> float:
    began = time.monotonic()
    while (left := _survivors(started, data_dir)) and time.monotonic() - began < within:
        time.sleep(0.1)
    took = time.monotonic() - began
    for process in left:
        process.kill()
    assert not left, [" ".join(p.cmdline())[:120] for p in left]
    return took


@pytest.mark.servers
@pytest.mark.parametrize("stack", [Stack("sqlite", "file")], indirect=True, ids=str)
@pytest.mark.parametrize("workers", [1, 2])
def test_kill_9_leaves_no_process_of_the_vault_behind(
    settings: Settings, tmp_path: Path, workers: int
) -> None:
    with vault_server(settings_env(settings), tmp_path, workers=workers) as server:
        with httpx2.Client(base_url=server.url, timeout=60) as client:
            headers = _login(client)
            for _ in range(2 * workers):
                assert _upload(client, headers).status_code == 201
        # Per server process: the forkserver, two sandbox workers and a resource tracker. They
        # start as each worker warms its sandbox, which on a loaded host can take a moment.
        deadline = time.monotonic() + 30
        while len(started := psutil.Process(server.pid).children(recursive=True)) < 4 * workers:
            assert time.monotonic() < deadline, [" ".join(p.cmdline())[:80] for p in started]
            time.sleep(0.2)
        os.kill(server.pid, signal.SIGKILL)
        took = _wait_gone(started, str(settings.data_dir), within=15)
    print(f"workers={workers}: {len(started)} processes gone {took:.2f} s after kill -9")


def _trickle() -> Iterator[bytes]:
    """An upload whose sender never finishes, as a client on a dead mobile link."""
    yield files.pdf()[:1000]
    while True:
        time.sleep(0.5)
        yield b"\0" * 100


@pytest.fixture
def served(settings: Settings, tmp_path: Path) -> Iterator[RunningServer]:
    env = settings_env(settings) | {"VAULT_SHUTDOWN_GRACE_SECONDS": str(GRACE)}
    with vault_server(env, tmp_path) as server:
        yield server


def _sigterm_while(
    server: RunningServer,
    settings: Settings,
    send: object,
    fault: Callable[[], None] = lambda: None,
) -> float:
    """SIGTERM while `send(client, headers)` is in flight, `fault()` having been caused after a
    first upload went through; how long the server took to exit."""
    with httpx2.Client(base_url=server.url, timeout=300) as client:
        headers = _login(client)
        assert _upload(client, headers).status_code == 201
        fault()
        process = psutil.Process(server.pid)
        started = process.children(recursive=True)
        answers: list[object] = []

        def stuck() -> None:
            try:
                answers.append(send(client, headers))  # type: ignore[operator]
            except httpx2.TransportError as error:
                answers.append(error)

        threading.Thread(target=stuck, daemon=True).start()
        time.sleep(2)
        assert not answers, answers
        began = time.monotonic()
        os.kill(server.pid, signal.SIGTERM)
        try:
            process.wait(GRACE + MARGIN)
        except psutil.TimeoutExpired:
            pytest.fail(f"still running {GRACE + MARGIN} s after SIGTERM")
        took = time.monotonic() - began
    assert "timeout graceful shutdown exceeded" in server.log.read_text()
    _wait_gone(started, str(settings.data_dir), within=10)
    return took


@pytest.mark.servers
@pytest.mark.parametrize("stack", [Stack("sqlite", "file")], indirect=True, ids=str)
def test_sigterm_ends_the_vault_within_its_grace_despite_a_never_ending_upload(
    served: RunningServer, settings: Settings
) -> None:
    def trickle(client: httpx2.Client, headers: dict[str, str]) -> httpx2.Response:
        form, _, body = multipart({"doc_type": "GKS"}, "cham.pdf", 10 << 20, _trickle())
        return client.post(
            "/api/v1/documents",
            headers={**headers, **form, "Content-Length": str(11 << 20)},
            content=body,
        )

    took = _sigterm_while(served, settings, trickle)
    print(f"SIGTERM with a trickling upload: exited after {took:.2f} s (grace {GRACE} s)")
    assert took >= GRACE - 0.5


@pytest.mark.servers
@pytest.mark.parametrize("stack", [Stack("sqlite", "s3")], indirect=True, ids=str)
def test_sigterm_ends_the_vault_within_its_grace_despite_a_frozen_store(
    served: RunningServer, settings: Settings
) -> None:
    assert settings.s3_endpoint
    with ExitStack() as outage:
        took = _sigterm_while(
            served, settings, _upload, lambda: outage.enter_context(frozen(settings.s3_endpoint))
        )
    print(f"SIGTERM with an upload stuck on a frozen store: exited after {took:.2f} s")
