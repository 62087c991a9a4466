"""/readyz names the part that is down (database, store, keys) and answers within its deadline
even when a part hangs; /healthz stays 200 while the process serves."""

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from tests.conftest import POSTGRES_URL, Stack
from tests.support.outages import frozen, relayed
from vault.api.health import DEADLINE
from vault.app import create_app
from vault.crypto import masterkeys
from vault.settings import Settings

# The deadline plus room for a loaded 2-core machine; far below any store or database timeout.
PROMPT = DEADLINE + 3


def _dead_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _frozen_listener() -> Iterator[int]:
    """A server that takes connections and never answers, as a hung store or database does."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield int(listener.getsockname()[1])


@contextmanager
def _serving(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings)
    try:
        with TestClient(app) as client:
            yield client
    finally:
        app.state.engine.dispose()


def _wait_ready(client: TestClient) -> None:
    deadline = time.monotonic() + 60
    while (status := _ready(client)[0]) != 200 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert status == 200


def _ready(client: TestClient) -> tuple[int, dict, float]:
    started = time.monotonic()
    response = client.get("/readyz")
    return response.status_code, response.json(), time.monotonic() - started


def test_ready_when_every_part_answers(client: TestClient) -> None:
    status, body, _ = _ready(client)
    assert status == 200, body
    assert body == {
        "status": "ready",
        "checks": {"database": "up", "store": "up", "keys": "up"},
    }
    assert client.get("/healthz").json() == {"status": "ok"}
    paths = client.get("/openapi.json").json()["paths"]
    assert "/readyz" not in paths and "/healthz" not in paths


def _assert_down(client: TestClient, part: str, *states: str) -> float:
    """A hung part shows as "no answer", or as "down" once its own timeout has failed it."""
    status, body, took = _ready(client)
    assert status == 503, body
    assert body["type"] == "/problems/not-ready"
    assert body["down"] == [part]
    assert body["checks"][part] in (states or ("down",))
    assert f"{part} is {body['checks'][part]}" in body["detail"]
    assert client.get("/healthz").status_code == 200
    return took


@pytest.mark.parametrize("stack", [Stack("sqlite", "s3")], indirect=True, ids=str)
def test_an_unreachable_store_is_named(app: FastAPI, settings: Settings) -> None:
    broken = settings.model_copy(update={"s3_endpoint": f"127.0.0.1:{_dead_port()}"})
    with _serving(broken) as client:
        assert _assert_down(client, "store") < PROMPT


@pytest.mark.parametrize("stack", [Stack("sqlite", "s3")], indirect=True, ids=str)
def test_a_hung_store_is_named_within_the_deadline_and_held_by_one_thread(
    app: FastAPI, settings: Settings
) -> None:
    def probes() -> int:
        return sum(thread.name == "readyz-store" for thread in threading.enumerate())

    before = probes()
    with _frozen_listener() as port:
        hung = settings.model_copy(update={"s3_endpoint": f"127.0.0.1:{port}"})
        with _serving(hung) as client:
            for _ in range(3):
                assert _assert_down(client, "store", "no answer", "down") < PROMPT
                assert probes() - before <= 1


@pytest.mark.parametrize("stack", [Stack("sqlite", "s3")], indirect=True, ids=str)
def test_a_frozen_store_is_named_and_ready_again_once_it_thaws(
    client: TestClient, settings: Settings
) -> None:
    assert _ready(client)[0] == 200
    assert settings.s3_endpoint
    with frozen(settings.s3_endpoint):
        assert _assert_down(client, "store", "no answer", "down") < PROMPT
    _wait_ready(client)


@pytest.mark.parametrize("stack", [Stack("postgresql", "file")], indirect=True, ids=str)
def test_a_database_refusing_connections_is_named_until_it_takes_them_again(
    client: TestClient, settings: Settings
) -> None:
    assert _ready(client)[0] == 200
    name = make_url(str(settings.database_url)).database
    admin = sqlalchemy.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
            connection.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
        assert _assert_down(client, "database") < PROMPT
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
        admin.dispose()
    _wait_ready(client)


@pytest.mark.parametrize("stack", [Stack("postgresql", "file")], indirect=True, ids=str)
def test_a_hung_database_is_named_within_the_deadline_and_ready_again_once_it_answers(
    app: FastAPI, settings: Settings
) -> None:
    url = make_url(str(settings.database_url))
    with relayed(f"{url.host}:{url.port or 5432}") as relay:
        port = int(relay.endpoint.rsplit(":", 1)[1])
        via = url.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
        with _serving(settings.model_copy(update={"database_url": via})) as client:
            assert _ready(client)[0] == 200
            relay.freeze()
            try:
                assert _assert_down(client, "database", "no answer", "down") < PROMPT
            finally:
                relay.thaw()
            _wait_ready(client)


@pytest.mark.parametrize("stack", [Stack("sqlite", "file")], indirect=True, ids=str)
def test_an_unreadable_master_key_file_is_named_until_it_is_back(
    client: TestClient, settings: Settings
) -> None:
    key_file = settings.resolved_master_key_file
    kept = key_file.read_bytes()
    key_file.unlink()
    assert _assert_down(client, "keys") < PROMPT
    key_file.write_bytes(b"v1 not-base64!\n")
    assert _assert_down(client, "keys") < PROMPT
    key_file.unlink()
    masterkeys.create(key_file)  # another key under the same version
    assert _assert_down(client, "keys") < PROMPT
    key_file.write_bytes(kept)
    assert _ready(client)[0] == 200
