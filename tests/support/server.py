"""The vault as a separate server process, started the way the README starts it."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2

from tests.support.processes import stop


@dataclass(frozen=True)
class RunningServer:
    url: str
    pid: int
    log: Path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def vault_server(
    env: dict[str, str], workdir: Path, *, workers: int = 1
) -> Iterator[RunningServer]:
    executable = shutil.which("vault") or str(Path(sys.executable).with_name("vault"))
    with served(
        lambda port: (
            [executable, "serve", "--host", "127.0.0.1", "--port", str(port)]
            + ["--workers", str(workers)]
        ),
        lambda port: {"VAULT_PUBLIC_URL": f"http://127.0.0.1:{port}", **env},
        workdir,
    ) as server:
        yield server


@contextmanager
def served(
    command: Callable[[int], list[str]],
    env: Callable[[int], dict[str, str]],
    workdir: Path,
    *,
    name: str = "server",
) -> Iterator[RunningServer]:
    """A server process on a free loopback port, once its /healthz answers; stopped as a
    person would stop it (SIGINT)."""
    port = _free_port()
    log = workdir / f"{name}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            command(port),
            env={**os.environ, **env(port)},
            cwd=workdir,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        server = RunningServer(f"http://127.0.0.1:{port}", process.pid, log)
        try:
            deadline = time.monotonic() + 60
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited: {log.read_text()[-3000:]}")
                try:
                    if httpx2.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx2.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not answer within 60 s")
                time.sleep(0.2)
            yield server
        finally:
            stop(process, signal.SIGINT)
