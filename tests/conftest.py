"""Fixtures over the real parts: SQLite and PostgreSQL, the file store and SeaweedFS's S3."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import product
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi import routing as fastapi_routing
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from tests.support.databases import scratch_database
from tests.support.seaweed import S3Server, seaweedfs
from tests.support.sinks import SmtpSink, WebhookReceiver
from vault import bootstrap, db
from vault.accounts import logins
from vault.app import create_app
from vault.crypto import masterkeys
from vault.settings import Settings

CI = bool(os.environ.get("CI"))
POSTGRES_URL = os.environ.get(
    "VAULT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@dataclass(frozen=True)
class Stack:
    database: str
    storage: str

    def __str__(self) -> str:
        return f"{self.database}-{self.storage}"


# Every API test runs on both databases and both stores; the core round trip on all four pairs.
STACKS = [Stack("sqlite", "file"), Stack("postgresql", "s3")]
ALL_STACKS = [Stack(d, s) for d, s in product(("sqlite", "postgresql"), ("file", "s3"))]


# Fixtures that start or reach a server: a test that uses one is not in the fast tier.
SERVER_FIXTURES = {
    "s3_server",
    "postgres_server",
    "postgres_database",
    "browser",
    "server",
    "served",
}
# Parameters that pick a server-backed part, e.g. the store fixture's "s3".
SERVER_PARAMS = {"s3", "postgresql"}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fast",
        action="store_true",
        help="the edit loop's tier: SQLite and the file store only, no server process",
    )


def _left_out_of_fast(item: pytest.Item) -> bool:
    if any(item.get_closest_marker(mark) for mark in ("slow", "servers", "journey")):
        return True
    if SERVER_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    params = getattr(getattr(item, "callspec", None), "params", {})
    return any(
        (isinstance(value, str) and value in SERVER_PARAMS)
        or (isinstance(value, Stack) and (value.database, value.storage) != ("sqlite", "file"))
        for value in params.values()
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("--fast"):
        return
    deselected = [item for item in items if _left_out_of_fast(item)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not _left_out_of_fast(item)]


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashes() -> Iterator[None]:
    """Argon2id at the production cost takes ~0.15 s of CPU a hash, and the tests hash
    thousands of passwords: in this process they use the same code with the smallest cost
    (tests/accounts checks the production parameters; server processes keep them)."""
    patch = pytest.MonkeyPatch()
    patch.setattr(logins, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    yield
    patch.undo()


@pytest.fixture(autouse=True, scope="session")
def _routes_resolved_once() -> Iterator[None]:
    """FastAPI resolves each included route (its dependencies, its body and response models)
    on an app's first request: ~0.3 s of CPU an app, and the tests make an app each, so it was
    an eighth of the fast tier. The routers are the same module-level objects in every app,
    so one resolution serves them all; the kept route stays alive, so its id is never reused.
    The one thing a resolution takes from its app is where dependency overrides come from,
    and no test overrides a dependency. Without this internal hook the apps resolve as usual."""
    effective = getattr(fastapi_routing, "_EffectiveRouteContext", None)
    if effective is None or not hasattr(effective, "from_api_route"):
        yield
        return
    resolve = effective.from_api_route
    resolved: dict[tuple[int, str], tuple[object, object]] = {}

    def once(cls: type, *, original_route: object, include_context: Any) -> object:
        key = (id(original_route), include_context.path_for(original_route))
        if key not in resolved:
            context = resolve(original_route=original_route, include_context=include_context)
            resolved[key] = (original_route, context)
        return resolved[key][1]

    patch = pytest.MonkeyPatch()
    patch.setattr(effective, "from_api_route", classmethod(once))
    yield
    patch.undo()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with seaweedfs(tmp_path_factory.mktemp("seaweedfs")) as server:
        yield server


@pytest.fixture(scope="session")
def postgres_server() -> str:
    engine = sqlalchemy.create_engine(POSTGRES_URL)
    try:
        with engine.connect():
            pass
    except sqlalchemy.exc.OperationalError as error:
        where = make_url(POSTGRES_URL).render_as_string()
        message = f"PostgreSQL is not reachable at {where}: {error.orig}"
        if CI:
            pytest.fail(message)
        pytest.skip(message)
    finally:
        engine.dispose()
    return POSTGRES_URL


@pytest.fixture(scope="session")
def postgres_database(postgres_server: str) -> Iterator[str]:
    """A database of this test session, migrated once; tables are emptied after each test."""
    with scratch_database(postgres_server, "vault_test") as url:
        db.upgrade(url)
        yield url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    db.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(params=STACKS, ids=str)
def stack(request: pytest.FixtureRequest) -> Stack:
    return request.param  # type: ignore[no-any-return]


def _empty_postgres(url: str) -> None:
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as connection:
        tables = connection.exec_driver_sql(
            "SELECT tablename FROM pg_tables "
            "WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
        ).scalars()
        connection.exec_driver_sql(f"TRUNCATE {', '.join(tables)} CASCADE")
    engine.dispose()


@pytest.fixture
def settings(stack: Stack, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Settings]:
    assert stack.database in ("sqlite", "postgresql") and stack.storage in ("file", "s3"), stack
    options: dict[str, object] = {}
    if stack.database == "sqlite":
        shutil.copy(request.getfixturevalue("sqlite_template"), tmp_path / "vault.db")
        options["database_url"] = f"sqlite:///{tmp_path / 'vault.db'}"
    else:
        options["database_url"] = request.getfixturevalue("postgres_database")
    if stack.storage == "s3":
        server: S3Server = request.getfixturevalue("s3_server")
        options |= {
            "storage": "s3",
            "s3_endpoint": server.endpoint,
            "s3_access_key": server.access_key,
            "s3_secret_key": server.secret_key,
            "s3_bucket": f"test-{secrets.token_hex(6)}",
        }
    masterkeys.create(tmp_path / "master.key")
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path / "data",
        master_key_file=tmp_path / "master.key",
        # The tests that need the server's own queue turn it on; the others run jobs by hand.
        serve_runs_jobs=False,
        job_retry_seconds=0.2,
        **options,
    )
    yield settings
    if stack.database == "postgresql":
        _empty_postgres(str(options["database_url"]))


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A real SMTP server in this process, keeping what it receives."""
    with SmtpSink() as sink:
        yield sink


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    """A real HTTP receiver for the notices' webhook, in this process."""
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def app(settings: Settings) -> Iterator[FastAPI]:
    bootstrap.prepare(settings)
    app = create_app(settings)
    yield app
    app.state.engine.dispose()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client
