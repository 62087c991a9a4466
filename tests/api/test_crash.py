"""`vault serve` killed with SIGKILL in the middle of a 50 MiB upload: after a restart nothing is
half there — no row without its object, nothing of the dead upload readable — the citizen's other
papers are intact, and `vault storage gc` removes what the dead process left."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from sqlmodel import select
from typer.testing import CliRunner

from tests.conftest import Stack
from tests.support import files
from tests.support.api import PASSWORD, new_national_id
from tests.support.env import settings_env
from tests.support.server import vault_server
from tests.support.transfer import multipart
from vault import bootstrap, db
from vault.cli import app as cli
from vault.documents.models import DocumentVersion
from vault.settings import Settings

SIZE = 50 << 20
MARKER = b"UNFINISHED-UPLOAD-MARKER-"


def _login(client: httpx2.Client, number: str) -> dict[str, str]:
    token = client.post("/api/v1/auth/token", data={"username": number, "password": PASSWORD})
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def _leaves_a_half_upload(
    url: str, headers: dict[str, str], halfway: threading.Event, killed: threading.Event
) -> None:
    """Streams a 50 MiB paper, signals halfway, and goes on only once the server is dead."""

    def pieces() -> Iterator[bytes]:
        yield b"%PDF-1.7\n"
        sent = 9
        while sent < SIZE // 2:
            piece = MARKER + os.urandom((1 << 20) - len(MARKER))
            sent += len(piece)
            yield piece
        halfway.set()
        killed.wait(60)
        yield b"x" * (SIZE - sent)

    form_headers, total, body = multipart({"doc_type": "GCNQSDD"}, "ban-ve.pdf", SIZE, pieces())
    with contextlib.suppress(httpx2.TransportError):
        httpx2.post(
            f"{url}/api/v1/documents",
            headers={**headers, **form_headers, "Content-Length": str(total)},
            content=body,
            timeout=90,
        )


@pytest.mark.servers
@pytest.mark.parametrize(
    "stack", [Stack("sqlite", "file"), Stack("postgresql", "s3")], indirect=True, ids=str
)
def test_sigkill_in_the_middle_of_a_big_upload_loses_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    env = settings_env(settings)
    number = new_national_id()
    kept = files.pdf()
    (tmp_path / "first").mkdir()
    with vault_server(env, tmp_path / "first") as server:
        with httpx2.Client(base_url=server.url, timeout=30) as client:
            client.post(
                "/api/v1/citizens",
                json={"national_id": number, "full_name": "Lê Thị Hoa", "password": PASSWORD},
            )
            headers = _login(client, number)
            stored = client.post(
                "/api/v1/documents",
                headers=headers,
                data={"doc_type": "GKS"},
                files={"file": ("giay-khai-sinh.pdf", kept, "application/pdf")},
            )
            assert stored.status_code == 201, stored.text
        halfway, killed = threading.Event(), threading.Event()
        uploader = threading.Thread(
            target=_leaves_a_half_upload,
            args=(server.url, headers, halfway, killed),
            daemon=True,
        )
        uploader.start()
        assert halfway.wait(120), "the upload never got halfway"
        time.sleep(1.0)  # let the server push what it received into the store
        os.kill(server.pid, signal.SIGKILL)
        killed.set()
        uploader.join(60)
        assert not uploader.is_alive()

    (tmp_path / "second").mkdir()
    with (
        vault_server(env, tmp_path / "second") as server,
        httpx2.Client(base_url=server.url, timeout=30) as client,
    ):
        headers = _login(client, number)
        listed = client.get("/api/v1/documents", headers=headers).json()
        assert [paper["id"] for paper in listed] == [stored.json()["id"]]
        content = client.get(f"/api/v1/documents/{listed[0]['id']}/content", headers=headers)
        assert content.content == kept

    store = bootstrap.build_store(settings)
    engine = db.make_engine(settings.resolved_database_url)
    with db.unit_of_work(engine, writes=False) as session:
        rows = session.exec(select(DocumentVersion)).all()
        referenced = {row.object_key for row in rows} | {
            row.thumbnail_key for row in rows if row.thumbnail_key
        }
    engine.dispose()
    assert referenced <= {blob.key for blob in store.iter_blobs()}, "a row without its object"
    if settings.storage == "file":
        for path in settings.data_dir.rglob("*"):
            if path.is_file():
                assert MARKER not in path.read_bytes(), f"readable upload left in {path.name}"

    swept = CliRunner().invoke(cli, ["storage", "gc", "--grace-minutes", "0"], env=env)
    assert swept.exit_code == 0, swept.output
    assert "aborted 0 incomplete uploads" not in swept.output, swept.output
    assert {blob.key for blob in store.iter_blobs()} == referenced
    again = CliRunner().invoke(cli, ["storage", "gc", "--grace-minutes", "0"], env=env)
    assert "deleted 0" in again.output and "aborted 0 incomplete uploads" in again.output
