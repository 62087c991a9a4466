"""PostgreSQL's server processes ended under the vault (a restart, a failover, an administrator's
pg_terminate_backend): a 503 with Retry-After at worst, never a 500, no committed paper lost,
and the next request served again."""

import hashlib
import random
import secrets
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
import pytest
import sqlalchemy
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session, select
from typer.testing import CliRunner

from tests.conftest import Stack
from tests.support import files
from tests.support.api import PASSWORD, new_national_id, register, upload
from tests.support.env import settings_env
from tests.support.server import RunningServer, vault_server
from vault.cli import app as cli
from vault.documents.models import DocumentVersion
from vault.settings import Settings

POSTGRESQL = pytest.mark.parametrize("stack", [Stack("postgresql", "file")], indirect=True, ids=str)
TERMINATE = (
    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
)


def _terminate_backends(url: str) -> int:
    engine = sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            return int(connection.execute(text(TERMINATE)).scalar_one())
    finally:
        engine.dispose()


@POSTGRESQL
def test_dead_pooled_connections_are_replaced_unseen(
    client: TestClient, settings: Settings
) -> None:
    citizen = register(client)
    assert client.get("/api/v1/documents", headers=citizen.headers).status_code == 200
    assert _terminate_backends(str(settings.database_url)) >= 1
    for _ in range(3):
        assert client.get("/api/v1/documents", headers=citizen.headers).status_code == 200
    assert client.get("/api/v1/citizens/me", headers=citizen.headers).status_code == 200


def _cut_the_connection_at_commit(app: FastAPI) -> None:
    """The server process ends itself while committing a paper's row: the vault cannot know
    whether the commit landed."""
    with app.state.engine.begin() as connection:
        connection.execute(
            text(
                "CREATE FUNCTION cut() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); "
                "PERFORM pg_sleep(5); RETURN NULL; END $$"
            )
        )
        connection.execute(
            text(
                "CREATE CONSTRAINT TRIGGER cut AFTER INSERT ON document_version "
                "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION cut()"
            )
        )


def _mend(app: FastAPI) -> None:
    with app.state.engine.begin() as connection:
        connection.execute(text("DROP TRIGGER cut ON document_version"))
        connection.execute(text("DROP FUNCTION cut()"))


@POSTGRESQL
def test_a_commit_that_loses_its_connection_is_503_and_deletes_nothing(
    app: FastAPI, settings: Settings
) -> None:
    with TestClient(app, raise_server_exceptions=False) as client:
        citizen = register(client)
        kept = upload(client, citizen, ("kept.pdf", files.pdf())).json()
        before = {blob.key for blob in app.state.backend.store.iter_blobs()}
        _cut_the_connection_at_commit(app)
        try:
            response = upload(client, citizen, ("a.pdf", files.pdf(text=b"cut")))
        finally:
            _mend(app)
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"]
        assert response.json()["type"] == "/problems/database-unavailable"
        # Had the commit landed, deleting its objects would have lost the paper: they stay,
        # unreadable without their rows, until the sweep finds nothing refers to them.
        left = {blob.key for blob in app.state.backend.store.iter_blobs()} - before
        assert left
        with Session(app.state.engine) as session:
            rows = {row.object_key for row in session.exec(select(DocumentVersion))}
        assert not left & rows
        swept = CliRunner().invoke(
            cli, ["storage", "gc", "--grace-minutes", "0"], env=settings_env(settings)
        )
        assert swept.exit_code == 0, swept.output
        assert {blob.key for blob in app.state.backend.store.iter_blobs()} == before
        content = client.get(f"/api/v1/documents/{kept['id']}/content", headers=citizen.headers)
        assert content.status_code == 200


@dataclass
class Citizen:
    headers: dict[str, str]
    uploaded: dict[str, str] = field(default_factory=dict)  # id -> sha256 of a 201


@dataclass
class Tally:
    statuses: Counter[str] = field(default_factory=Counter)
    wrong: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, what: str, response: httpx2.Response) -> None:
        with self.lock:
            self.statuses[f"{what} {response.status_code}"] += 1
            if response.status_code < 500:
                return
            problem = response.json() if "json" in response.headers.get("content-type", "") else {}
            if (
                response.status_code != 503
                or "retry-after" not in response.headers
                or problem.get("type") != "/problems/database-unavailable"
            ):
                self.wrong.append(f"{what}: {response.status_code} {response.text[:200]}")


def _login(client: httpx2.Client) -> Citizen:
    number = new_national_id()
    created = client.post(
        "/api/v1/citizens",
        json={"national_id": number, "full_name": "Đỗ Thị Bền", "password": PASSWORD},
    )
    assert created.status_code == 201, created.text
    token = client.post("/api/v1/auth/token", data={"username": number, "password": PASSWORD})
    return Citizen({"Authorization": f"Bearer {token.json()['access_token']}"})


def _one_request(client: httpx2.Client, citizen: Citizen, tally: Tally) -> None:
    roll = random.random()
    if roll < 0.3:
        pdf = files.pdf(text=secrets.token_hex(8).encode())
        response = client.post(
            "/api/v1/documents",
            headers=citizen.headers,
            data={"doc_type": "GKS"},
            files=[("file", ("bao.pdf", pdf, "application/pdf"))],
        )
        tally.record("upload", response)
        if response.status_code == 201:
            citizen.uploaded[response.json()["id"]] = response.json()["sha256"]
    elif roll < 0.5 and citizen.uploaded:
        document = random.choice(list(citizen.uploaded))
        response = client.get(f"/api/v1/documents/{document}/content", headers=citizen.headers)
        tally.record("download", response)
    elif roll < 0.8:
        tally.record("list", client.get("/api/v1/documents", headers=citizen.headers))
    else:
        tally.record("profile", client.get("/api/v1/citizens/me", headers=citizen.headers))


@pytest.fixture
def server(settings: Settings, tmp_path: Path) -> Iterator[RunningServer]:
    with vault_server(settings_env(settings), tmp_path) as running:
        yield running


@pytest.mark.servers
@POSTGRESQL
def test_backends_terminated_under_load(server: RunningServer, settings: Settings) -> None:
    clients, rounds, every = 6, 8, 1.5
    tally, stop = Tally(), threading.Event()
    with httpx2.Client(base_url=server.url, timeout=60) as setup:
        citizens = [_login(setup) for _ in range(clients)]

    def load(citizen: Citizen) -> None:
        with httpx2.Client(base_url=server.url, timeout=60) as client:
            while not stop.is_set():
                _one_request(client, citizen, tally)

    threads = [threading.Thread(target=load, args=(c,), daemon=True) for c in citizens]
    for thread in threads:
        thread.start()
    terminated = []
    try:
        for _ in range(rounds):
            time.sleep(every)
            terminated.append(_terminate_backends(str(settings.database_url)))
        time.sleep(every)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    total = sum(tally.statuses.values())
    print(f"\n{total} requests; backends terminated per round: {terminated}")
    print(dict(sorted(tally.statuses.items())))
    assert sum(terminated) >= rounds, terminated
    assert not tally.wrong, tally.wrong
    assert tally.statuses["upload 201"] > 0

    # Nothing committed is lost, nothing listed is unreadable, and the vault serves again.
    with httpx2.Client(base_url=server.url, timeout=60) as client:
        for citizen in citizens:
            listed = client.get("/api/v1/documents", headers=citizen.headers)
            assert listed.status_code == 200, listed.text
            stored = {document["id"]: document["sha256"] for document in listed.json()}
            assert citizen.uploaded.items() <= stored.items()
            for document, sha256 in stored.items():
                content = client.get(
                    f"/api/v1/documents/{document}/content", headers=citizen.headers
                )
                assert content.status_code == 200, content.text
                assert hashlib.sha256(content.content).hexdigest() == sha256
        assert _login(client).headers


@pytest.mark.parametrize("stack", [Stack("sqlite", "file")], indirect=True, ids=str)
def test_an_outage_is_503_on_pages_too_and_a_database_bug_stays_a_500(app: FastAPI) -> None:
    """Real errors from real drivers: a PostgreSQL that refuses connections is an outage; an
    SQL mistake, which SQLite reports as an OperationalError too, is a bug."""
    gone = sqlalchemy.create_engine(f"postgresql+psycopg://vault@127.0.0.1:{_dead_port()}/vault")

    def outage() -> None:
        with gone.connect():
            pass

    def mistake() -> None:
        with app.state.engine.connect() as connection:
            connection.execute(text("SELECT FROM WHERE"))

    for path, route in (("outage", outage), ("mistake", mistake)):
        app.add_api_route(f"/api/v1/{path}", route)
        app.add_api_route(f"/{path}", route)
    with TestClient(app, raise_server_exceptions=False) as client:
        api, page = client.get("/api/v1/outage"), client.get("/outage")
        assert api.status_code == page.status_code == 503
        assert api.json()["type"] == "/problems/database-unavailable"
        assert api.headers["retry-after"]
        assert page.headers["content-type"].startswith("text/html")
        api, page = client.get("/api/v1/mistake"), client.get("/mistake")
        assert api.status_code == page.status_code == 500
        assert api.json()["type"] == "/problems/internal"
        assert page.headers["content-type"].startswith("text/html")
    gone.dispose()


def _dead_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
