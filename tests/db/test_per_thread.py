"""Each thread keeps its PostgreSQL connection from one call to the next, gets a new one once the
server has ended it (idle or in the middle of a statement), and SQLite gets a transaction per
call that commits or rolls back with the block."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, exc, text

from vault import db
from vault.db.per_thread import ThreadConnections


@pytest.fixture
def postgres(postgres_database: str) -> Iterator[Engine]:
    engine = db.make_engine(postgres_database)
    yield engine
    engine.dispose()


@pytest.fixture
def kept(postgres: Engine) -> Iterator[ThreadConnections]:
    connections = ThreadConnections(postgres)
    yield connections
    connections.close()


def _backend(connections: ThreadConnections) -> int:
    with connections.connection() as connection:
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(engine: Engine, pid: int) -> None:
    # A statement each: PostgreSQL shows pg_stat_activity as it was when a transaction began.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as other:
        assert other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
        # Until the backend has gone, its socket may not be readable yet.
        for _ in range(100):
            alive = other.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
            ).scalar_one()
            if not alive:
                return
            other.execute(text("SELECT pg_sleep(0.02)"))
    raise AssertionError(f"backend {pid} still there")


def test_a_thread_keeps_its_connection_and_each_thread_has_its_own(
    kept: ThreadConnections,
) -> None:
    mine = {_backend(kept) for _ in range(5)}
    theirs: list[int] = []
    other = threading.Thread(target=lambda: theirs.extend(_backend(kept) for _ in range(5)))
    other.start()
    other.join()

    assert len(mine) == 1 and len(set(theirs)) == 1
    assert mine != set(theirs)


def test_each_statement_commits_by_itself(kept: ThreadConnections, postgres: Engine) -> None:
    with kept.connection() as connection:
        connection.execute(text("CREATE TEMPORARY TABLE t (n int)"))
        connection.execute(text("INSERT INTO t VALUES (1)"))
        status = connection.connection.dbapi_connection.info.transaction_status  # type: ignore[union-attr]

    assert status.name == "IDLE"  # no transaction left open between jobs


def test_a_connection_the_server_ended_while_idle_is_replaced_before_use(
    kept: ThreadConnections, postgres: Engine
) -> None:
    first = _backend(kept)
    _terminate(postgres, first)

    second = _backend(kept)  # no error: the ended connection is found before the statement

    assert second != first


def test_a_connection_lost_during_a_statement_fails_it_and_is_replaced_next_time(
    kept: ThreadConnections,
) -> None:
    first = _backend(kept)
    with pytest.raises(exc.OperationalError) as lost, kept.connection() as connection:
        connection.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))

    assert db.lost_connection(lost.value)
    assert _backend(kept) != first


def test_close_gives_every_thread_s_connection_back_to_the_pool(
    kept: ThreadConnections, postgres: Engine
) -> None:
    _backend(kept)
    other = threading.Thread(target=lambda: _backend(kept))
    other.start()
    other.join()
    assert postgres.pool.checkedout() == 2  # type: ignore[attr-defined]

    kept.close()

    assert postgres.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_on_sqlite_each_call_is_a_transaction(sqlite: Engine) -> None:
    connections = ThreadConnections(sqlite)
    with connections.connection() as connection:
        connection.execute(text("INSERT INTO t VALUES (1)"))
    with pytest.raises(RuntimeError), connections.connection() as connection:
        connection.execute(text("INSERT INTO t VALUES (2)"))
        raise RuntimeError("the job failed after writing")

    with sqlite.connect() as connection:
        assert connection.execute(text("SELECT n FROM t")).scalars().all() == [1]
    # Nothing kept: a file connection held by a thread would outlive the engine's dispose.
    assert sqlite.pool.checkedout() == 0  # type: ignore[attr-defined]
