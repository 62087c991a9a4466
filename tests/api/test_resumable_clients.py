"""Resumable uploads with a real tus client (tuspy) against a real `vault serve`: through a link
cut every 2 MiB, with nothing readable ever at rest meanwhile; and across a server killed with
SIGKILL mid-upload. (tus-js-client in Chromium: tests/web/test_resumable_page.py.)"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx2
import pytest
from tusclient.client import TusClient

from tests.conftest import STACKS
from tests.support import files
from tests.support.api import PASSWORD, new_national_id
from tests.support.cutting import cutting_proxy
from tests.support.env import settings_env
from tests.support.server import vault_server
from tests.support.tus import CHUNK, TUS, marked_pdf, metadata
from vault.documents import resumable
from vault.settings import Settings

pytestmark = [pytest.mark.servers, pytest.mark.parametrize("stack", STACKS, indirect=True, ids=str)]


def _citizen(url: str) -> dict[str, str]:
    number = new_national_id()
    with httpx2.Client(base_url=url, timeout=30) as client:
        created = client.post(
            "/api/v1/citizens",
            json={"national_id": number, "full_name": "Lê Thị Hoa", "password": PASSWORD},
        )
        assert created.status_code == 201, created.text
        token = client.post("/api/v1/auth/token", data={"username": number, "password": PASSWORD})
        assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def _make_paper(url: str, headers: dict[str, str], upload_id: str) -> bytes:
    with httpx2.Client(base_url=url, timeout=60) as client:
        paper = client.post(
            "/api/v1/documents",
            headers=headers,
            data={"doc_type": "GCNQSDD", "upload_id": upload_id},
        )
        assert paper.status_code == 201, paper.text
        content = client.get(f"/api/v1/documents/{paper.json()['id']}/content", headers=headers)
        assert content.status_code == 200
        return content.content


class AtRestWatch:
    """Reads, over and over while an upload runs, every file under the data directory (and the
    SQLite database beside it) and every object in the bucket, looking for the marker."""

    def __init__(self, settings: Settings, roots: list[Path]) -> None:
        self.settings = settings
        self.roots = roots
        self.scans = 0
        self.files_read = 0
        self.found: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> AtRestWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self._scan()  # and once more at the end

    def _run(self) -> None:
        while not self._stop.is_set():
            self._scan()
            time.sleep(0.05)

    def _scan(self) -> None:
        for root in self.roots:
            for path in root.rglob("*"):
                with contextlib.suppress(OSError):
                    if path.is_file() and files.MARKER in path.read_bytes():
                        self.found.append(str(path))
                    self.files_read += 1
        if self.settings.storage == "s3":
            from minio import Minio

            assert self.settings.s3_secret_key is not None
            bucket = Minio(
                self.settings.s3_endpoint or "",
                self.settings.s3_access_key,
                self.settings.s3_secret_key.get_secret_value(),
                secure=False,
            )
            with contextlib.suppress(Exception):
                for item in bucket.list_objects(self.settings.s3_bucket, recursive=True):
                    with contextlib.suppress(Exception):
                        response = bucket.get_object(self.settings.s3_bucket, item.object_name)
                        try:
                            if files.MARKER in response.read():
                                self.found.append(f"s3:{item.object_name}")
                            self.files_read += 1
                        finally:
                            response.close()
                            response.release_conn()
        self.scans += 1


def test_tuspy_through_a_link_cut_every_2_mib_leaves_nothing_readable_at_rest(
    settings: Settings, tmp_path: Path
) -> None:
    data = marked_pdf(7 << 20)
    workdir = tmp_path / "run"
    workdir.mkdir()
    roots = [settings.data_dir] + ([tmp_path] if settings.storage == "file" else [])
    with vault_server(settings_env(settings), workdir) as server:
        headers = _citizen(server.url)
        port = urlsplit(server.url).port
        assert port is not None
        with cutting_proxy(port, 2 << 20) as proxy:
            with AtRestWatch(settings, [r for r in roots if r != workdir]) as watch:
                client = TusClient(f"{proxy.url}/api/v1/uploads", headers=headers)
                uploader = client.uploader(
                    file_stream=io.BytesIO(data),
                    metadata={"filename": "ban-ve.pdf", "filetype": "application/pdf"},
                    retries=40,
                    retry_delay=0.2,  # type: ignore[arg-type]
                )
                uploader.upload()
            assert proxy.cuts >= 3, proxy.cuts
            upload_id = str(uploader.url).rsplit("/", 1)[-1]
        assert _make_paper(server.url, headers, upload_id) == data
    assert watch.scans >= 3 and watch.files_read
    assert watch.found == [], f"plaintext at rest: {sorted(set(watch.found))}"


def test_a_server_killed_mid_upload_resumes_to_a_byte_identical_paper(
    settings: Settings, tmp_path: Path
) -> None:
    data = marked_pdf(20 << 20)
    halfway = resumable.PART_SIZE + (4 << 20)  # one part stored, the next one in flight
    env = settings_env(settings)
    (tmp_path / "first").mkdir()
    with vault_server(env, tmp_path / "first") as server:
        headers = _citizen(server.url)
        with httpx2.Client(base_url=server.url, timeout=30) as client:
            created = client.post(
                "/api/v1/uploads",
                headers={
                    **headers,
                    **TUS,
                    "Upload-Length": str(len(data)),
                    "Upload-Metadata": metadata(filename="ban-ve.pdf"),
                },
            )
            assert created.status_code == 201, created.text
            location = created.headers["location"]
            sent, killed = threading.Event(), threading.Event()

            def body() -> Iterator[bytes]:
                for start in range(0, halfway, 1 << 20):
                    yield data[start : start + (1 << 20)]
                sent.set()
                killed.wait(60)
                yield data[halfway:]

            def patch() -> None:
                with contextlib.suppress(httpx2.TransportError):
                    httpx2.patch(
                        f"{server.url}{location}",
                        headers={
                            **headers,
                            **CHUNK,
                            "Upload-Offset": "0",
                            "Content-Length": str(len(data)),
                        },
                        content=body(),
                        timeout=90,
                    )

            sender = threading.Thread(target=patch, daemon=True)
            sender.start()
            assert sent.wait(60)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                where = client.head(location, headers={**headers, **TUS})
                if int(where.headers["upload-offset"]) >= resumable.PART_SIZE:
                    break
                time.sleep(0.1)
            time.sleep(0.5)  # the part in flight has arrived (most of it) but is not stored
            os.kill(server.pid, signal.SIGKILL)
            killed.set()
            sender.join(60)

    (tmp_path / "second").mkdir()
    with vault_server(env, tmp_path / "second") as server:
        with httpx2.Client(base_url=server.url, timeout=30) as client:
            where = client.head(location, headers={**headers, **TUS})
        assert where.status_code == 200, where.text
        # At most the part in flight was lost: what was stored is counted, nothing more.
        assert int(where.headers["upload-offset"]) == resumable.PART_SIZE
        uploader = TusClient(f"{server.url}/api/v1/uploads", headers=headers).uploader(
            file_stream=io.BytesIO(data), url=f"{server.url}{location}"
        )
        assert uploader.offset == resumable.PART_SIZE
        uploader.upload()
        assert _make_paper(server.url, headers, location.rsplit("/", 1)[-1]) == data
