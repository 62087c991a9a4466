"""Faults at the worst moment: the store unreachable, the database refusing the row or the commit,
a crash between the object and its row. No readable orphan, no half-written row, no lost paper."""

import secrets
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx2
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from storage import BlobStore, FileStore, S3Store
from tests.conftest import Stack
from tests.support import files
from tests.support.api import PASSWORD, new_national_id, register, upload
from tests.support.env import settings_env
from tests.support.outages import frozen, serving
from tests.support.seaweed import seaweedfs
from tests.support.server import vault_server
from tests.support.transfer import multipart
from vault import crypto
from vault.app import create_app
from vault.blobs import objects
from vault.cli import app as cli
from vault.documents.models import Document, DocumentVersion
from vault.keys import ObjectBinding
from vault.settings import Settings

# The S3 store gives up within 10 s; this only tells a hang from a loaded 2-core machine.
STORE_GIVES_UP = 20.0


def _dead_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("stack", [Stack("sqlite", "s3")], indirect=True, ids=str)
def test_unreachable_store_is_503_and_nothing_is_written(app: FastAPI, settings: Settings) -> None:
    with TestClient(app) as client:
        citizen = register(client)
        kept = upload(client, citizen, ("kept.pdf", files.pdf())).json()
    broken = settings.model_copy(update={"s3_endpoint": f"127.0.0.1:{_dead_port()}"})
    down = create_app(broken)
    with TestClient(down) as client:
        started = time.monotonic()
        response = upload(client, citizen, ("a.pdf", files.pdf()))
        assert time.monotonic() - started < STORE_GIVES_UP
        assert response.status_code == 503
        assert response.headers["retry-after"] == "30"
        assert response.json()["type"] == "/problems/store-unavailable"
        assert (
            client.get(
                f"/api/v1/documents/{kept['id']}/content", headers=citizen.headers
            ).status_code
            == 503
        )
        # The export opens its first paper before it answers: a 503, not a 200 and a broken zip.
        exported = client.get("/api/v1/citizens/me/export", headers=citizen.headers)
        assert exported.status_code == 503, exported.headers
        assert exported.json()["type"] == "/problems/store-unavailable"
    with Session(app.state.engine) as session:
        assert session.exec(select(func.count()).select_from(DocumentVersion)).one() == 1
    down.state.engine.dispose()


def _row_keys(app: FastAPI) -> set[str]:
    with Session(app.state.engine) as session:
        return {row.object_key for row in session.exec(select(DocumentVersion))}


@pytest.mark.parametrize("stack", [Stack("sqlite", "s3")], indirect=True, ids=str)
def test_a_frozen_store_fails_an_upload_within_seconds_and_leaves_no_row(
    app: FastAPI, settings: Settings
) -> None:
    """The store takes the connection and never answers (SIGSTOP): the upload gives up within
    the store's deadline rather than hold the request, and no row points at a missing object."""
    with TestClient(app) as client:
        citizen = register(client)
        kept = upload(client, citizen, ("kept.pdf", files.pdf())).json()
        rows = _row_keys(app)
        assert settings.s3_endpoint
        with frozen(settings.s3_endpoint):
            started = time.monotonic()
            response = upload(client, citizen, ("a.pdf", files.pdf(text=b"frozen")))
            took = time.monotonic() - started
        print(f"upload to a frozen store: {response.status_code} after {took:.2f} s")
        assert response.status_code == 503, response.text
        assert response.json()["type"] == "/problems/store-unavailable"
        assert took < STORE_GIVES_UP, f"answered after {took:.1f} s"
        assert _row_keys(app) == rows
        assert rows <= {blob.key for blob in app.state.backend.store.iter_blobs()}
        content = client.get(f"/api/v1/documents/{kept['id']}/content", headers=citizen.headers)
        assert content.status_code == 200


@pytest.mark.servers
@pytest.mark.parametrize("stack", [Stack("sqlite", "file")], indirect=True, ids=str)
def test_a_store_killed_mid_upload_is_503_within_seconds_and_leaves_no_row(
    settings: Settings, tmp_path: Path
) -> None:
    """A real server streaming a paper to a store that dies under it (kill -9 of SeaweedFS
    once 16 MiB have gone through)."""
    with seaweedfs(tmp_path / "weed") as store:
        env = settings_env(settings) | {
            "VAULT_STORAGE": "s3",
            "VAULT_S3_ENDPOINT": store.endpoint,
            "VAULT_S3_ACCESS_KEY": store.access_key,
            "VAULT_S3_SECRET_KEY": store.secret_key,
        }
        with (
            vault_server(env, tmp_path) as server,
            httpx2.Client(base_url=server.url, timeout=120) as client,
        ):
            number = new_national_id()
            client.post(
                "/api/v1/citizens",
                json={"national_id": number, "full_name": "Lý Văn Đứt", "password": PASSWORD},
            )
            token = client.post(
                "/api/v1/auth/token", data={"username": number, "password": PASSWORD}
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            length, pieces = files.big_pdf_stream(24 << 20)
            killed: list[float] = []

            def killing() -> Iterator[bytes]:
                sent = 0
                for piece in pieces:  # type: ignore[attr-defined]
                    if sent >= 16 << 20 and not killed:
                        serving(store.endpoint).kill()
                        killed.append(time.monotonic())
                    yield piece
                    sent += len(piece)

            form, total, body = multipart({"doc_type": "GCNQSDD"}, "so-do.pdf", length, killing())
            response = client.post(
                "/api/v1/documents",
                headers={**headers, **form, "Content-Length": str(total)},
                content=body,
            )
            took = time.monotonic() - killed[0]
            print(f"store killed mid-upload: {response.status_code} {took:.2f} s after the kill")
            assert response.status_code == 503, response.text
            assert response.json()["type"] == "/problems/store-unavailable"
            assert took < STORE_GIVES_UP, f"answered {took:.1f} s after the store died"
            assert client.get("/api/v1/documents", headers=headers).json() == []
            assert client.get("/healthz").status_code == 200
            ready = client.get("/readyz")
            assert ready.status_code == 503 and ready.json()["down"] == ["store"]


def _refuse_rows(app: FastAPI, *, at_commit: bool) -> None:
    with app.state.engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.execute(
                text(
                    "CREATE TRIGGER refuse BEFORE INSERT ON document_version "
                    "BEGIN SELECT RAISE(ABORT, 'disk on fire'); END"
                )
            )
            return
        connection.execute(
            text(
                "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'disk on fire'; END $$"
            )
        )
        kind = "CONSTRAINT TRIGGER" if at_commit else "TRIGGER"
        timing = (
            "AFTER INSERT ON document_version DEFERRABLE INITIALLY DEFERRED"
            if at_commit
            else "BEFORE INSERT ON document_version"
        )
        connection.execute(
            text(f"CREATE {kind} refuse {timing} FOR EACH ROW EXECUTE FUNCTION refuse()")
        )


def _allow_rows(app: FastAPI) -> None:
    with app.state.engine.begin() as connection:
        connection.execute(
            text(
                "DROP TRIGGER refuse"
                + (" ON document_version" if connection.dialect.name == "postgresql" else "")
            )
        )
        if connection.dialect.name == "postgresql":
            connection.execute(text("DROP FUNCTION refuse()"))


@pytest.mark.parametrize(
    ("stack", "at_commit"),
    [
        (Stack("sqlite", "file"), False),
        (Stack("postgresql", "s3"), False),
        (Stack("postgresql", "s3"), True),
    ],
    indirect=["stack"],
    ids=["sqlite-file-insert", "postgresql-s3-insert", "postgresql-s3-commit"],
)
def test_database_refusing_the_row_leaves_no_object(app: FastAPI, at_commit: bool) -> None:
    with TestClient(app, raise_server_exceptions=False) as client:
        citizen = register(client)
        kept = upload(client, citizen, ("kept.pdf", files.pdf())).json()
        before = {blob.key for blob in app.state.backend.store.iter_blobs()}
        _refuse_rows(app, at_commit=at_commit)
        try:
            response = upload(client, citizen, ("a.jpg", files.jpeg_with_gps()))
        finally:
            _allow_rows(app)
        # A failed commit is a 500, never a 201 for a paper that was not saved.
        assert response.status_code == 500
        assert {blob.key for blob in app.state.backend.store.iter_blobs()} == before
        with Session(app.state.engine) as session:
            assert [str(d.id) for d in session.exec(select(Document))] == [kept["id"]]
        assert (
            client.get(
                f"/api/v1/documents/{kept['id']}/content", headers=citizen.headers
            ).status_code
            == 200
        )


def test_orphans_from_a_crash_are_unreadable_and_swept(
    app: FastAPI, client: TestClient, settings: Settings
) -> None:
    citizen = register(client)
    kept = upload(client, citizen, ("kept.pdf", files.pdf())).json()
    # The process dies after writing the object and before committing its row:
    binding = ObjectBinding(crypto.ObjectKind.CONTENT, uuid.uuid4(), uuid.UUID(citizen.id), 1)
    orphan = objects.write_bytes(
        app.state.backend.store, binding, files.pdf(), on_key=lambda _: None
    )
    assert orphan.key in {blob.key for blob in app.state.backend.store.iter_blobs()}
    # Another dies in the middle of an upload: parts or a temporary file, not a blob.
    unfinished = _begin_an_upload_and_die(app.state.backend.store)
    assert unfinished() == 1

    runner = CliRunner()
    env = settings_env(settings)
    young = runner.invoke(cli, ["storage", "gc"], env=env)
    assert young.exit_code == 0, young.output
    assert "deleted 0" in young.output and "aborted 0 incomplete uploads" in young.output
    swept = runner.invoke(cli, ["storage", "gc", "--grace-minutes", "0"], env=env)
    assert swept.exit_code == 0, swept.output
    assert "scanned 3 blobs, deleted 1" in swept.output
    assert "aborted 1 incomplete uploads" in swept.output and unfinished() == 0
    assert orphan.key not in {blob.key for blob in app.state.backend.store.iter_blobs()}
    assert (
        client.get(f"/api/v1/documents/{kept['id']}/content", headers=citizen.headers).status_code
        == 200
    )
    assert (
        client.get(f"/api/v1/documents/{kept['id']}/thumbnail", headers=citizen.headers).status_code
        == 200
    )


def _begin_an_upload_and_die(store: BlobStore) -> Callable[[], int]:
    """What a worker killed mid-upload leaves behind; returns a count of such leftovers."""
    if isinstance(store, S3Store):
        key = secrets.token_hex(16)
        upload_id = store.client._create_multipart_upload(store.bucket, key, {})
        store.client._upload_part(store.bucket, key, b"x" * (5 << 20), None, upload_id, 1)
        return lambda: len(store.client._list_multipart_uploads(store.bucket).uploads)
    assert isinstance(store, FileStore)
    incoming = store.root / "incoming"
    (incoming / "tmp-killed").write_bytes(b"x" * 1000)
    return lambda: len(list(incoming.iterdir()))


def test_a_bug_is_still_a_problem_document_and_a_page_for_people(app: FastAPI) -> None:
    def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/api/v1/broken", broken)
    app.add_api_route("/broken", broken)
    with TestClient(app, raise_server_exceptions=False) as client:
        api = client.get("/api/v1/broken")
        page = client.get("/broken")
    assert api.status_code == 500
    assert api.headers["content-type"] == "application/problem+json"
    assert api.json()["type"] == "/problems/internal" and "a bug" not in api.text
    assert page.status_code == 500 and page.headers["content-type"].startswith("text/html")
    assert "a bug" not in page.text


@pytest.mark.parametrize("stack", [Stack("sqlite", "file")], indirect=True, ids=str)
def test_a_wrong_method_is_405_naming_every_method_the_path_answers(client: TestClient) -> None:
    grant = client.put(f"/api/v1/grants/{uuid.uuid4()}")
    grants = client.patch("/api/v1/grants")
    page = client.put("/")
    assert grant.status_code == grants.status_code == page.status_code == 405
    assert grant.headers["content-type"] == "application/problem+json"
    assert grant.headers["allow"] == "GET, DELETE"
    assert grants.headers["allow"] == "GET, POST"
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["allow"] == "GET"
