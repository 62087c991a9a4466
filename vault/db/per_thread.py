"""A connection kept by each thread between short units of work, for work done hundreds of times
a second in one or two statements (a job delivering a notice).

Taking a pooled connection and making an engine and a session around each such statement cost
a worker more CPU than the statements. On PostgreSQL each thread keeps one autocommit
connection instead: each statement commits by itself, as with `db.one_statement_each`, and
psycopg prepares the statements it sees again. A kept connection that the server ended while it
was idle (a restart, a failover, pg_terminate_backend) has a readable socket, which one poll
finds before it is used: it is replaced. One lost in the middle of a statement fails that
statement, as a pooled one would, and is replaced at the thread's next call.

SQLite gets a transaction on a pooled connection for each call, its write lock taken first: its
writes are local, a transaction costs no round trip, and a file connection held by a thread
would outlive the engine's `dispose`.
"""

from __future__ import annotations

import select
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine


class ThreadConnections:
    """Closed by whoever made it once its threads are done (a worker, when it stops)."""

    def __init__(self, engine: Engine) -> None:
        self._kept = engine.dialect.name == "postgresql"
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._writing = engine.execution_options(immediate=True)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: set[Connection] = set()

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """This thread's connection (PostgreSQL), or a transaction committed when the block
        ends well and rolled back otherwise (SQLite)."""
        if not self._kept:
            with self._writing.begin() as connection:
                yield connection
            return
        connection = self._take()
        try:
            yield connection
        finally:
            if connection.invalidated or connection.closed:
                self._drop(connection)

    def close(self) -> None:
        with self._lock:
            kept, self._open = self._open, set()
        for connection in kept:
            connection.close()

    def _take(self) -> Connection:
        connection: Connection | None = getattr(self._local, "connection", None)
        if connection is not None and (
            connection.invalidated or connection.closed or _ended(connection)
        ):
            self._drop(connection)
            connection = None
        if connection is None:
            connection = self._autocommit.connect()
            self._local.connection = connection
            with self._lock:
                self._open.add(connection)
        return connection

    def _drop(self, connection: Connection) -> None:
        self._local.connection = None
        with self._lock:
            self._open.discard(connection)
        if not connection.closed:
            # Its pool entry goes with it: a socket the server ended is of no use to anyone.
            connection.invalidate()
            connection.close()


def _ended(connection: Connection) -> bool:
    return ended(connection.connection.dbapi_connection.fileno())  # type: ignore[union-attr]


def ended(fileno: int) -> bool:
    """Whether the server has ended an idle connection (a restart, a failover,
    pg_terminate_backend): nothing is due on it between statements, so a readable socket holds
    the server's last message or its EOF. A poll, where a check query is a round trip."""
    # poll, not select: a socket numbered past select's 1,024 would fail it.
    probe = select.poll()
    probe.register(fileno, select.POLLIN)
    return bool(probe.poll(0))
