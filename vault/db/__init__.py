"""Database engine, units of work and migrations (SQLite embedded, PostgreSQL in production)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import DateTime, Engine, Enum, event, exc, make_url
from sqlmodel import Field, Session, create_engine

from vault.crypto import MasterKeys
from vault.db import sqlite_wal

MIGRATIONS = Path(__file__).with_name("migrations")
# Alembic config attributes: the master keys a migration that seals data is given, and the
# tables a migration rewrote and whose old row images must go (see `upgrade`).
MASTER_KEYS = "vault.master_keys"
SCRUB = "vault.scrub"
# How the owner of a unit of work lets a service end the owner's reading transaction before a
# long wait (a body streaming in, a batch to join), so that no connection, snapshot or, on
# SQLite, write lock is held meanwhile; the unit of work goes on in a fresh transaction. The
# owner passes its session's `commit`: it has written nothing yet, so the read is all it ends.
EndRead = Callable[[], None]
_AFTER_COMMIT = "vault.after_commit"
_AFTER_ROLLBACK = "vault.after_rollback"
log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


def timestamp_field() -> Any:
    """A timezone-aware timestamp column that defaults to now."""
    return Field(default_factory=utc_now, sa_type=DateTime(timezone=True))


def state_type(states: type[StrEnum], length: int) -> Enum:
    """A StrEnum column stored as the member's value in a plain VARCHAR: the very strings these
    columns held before they were typed, no database enum type and no CHECK, so a new member
    needs no migration. Rows read back as members, not bare strings."""
    return Enum(
        states,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [member.value for member in members],
    )


def aware(moment: datetime) -> datetime:
    """SQLite hands timestamps back without their zone; they were written in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def make_engine(url: str, **options: Any) -> Engine:
    # A statement's parameters are national IDs, names and password hashes: an error's text,
    # and so a logged traceback, names the statement only.
    options.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **options
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    # pool_pre_ping: a pooled connection whose server process has gone (a restart, a
    # failover, pg_terminate_backend) is replaced when taken, instead of failing a request.
    # (The job worker checks its connections another way: vault.jobs.postgres.engine.)
    options.setdefault("pool_pre_ping", True)
    return create_engine(url, pool_size=20, max_overflow=20, **options)


# SQLite reports a syntax error or a missing table as an OperationalError too: those are bugs.
_SQLITE_OUTAGES = ("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_IOERR", "SQLITE_CANTOPEN", "SQLITE_FULL")


def unavailable(error: BaseException) -> bool:
    """Whether `error` says the database cannot be reached or dropped the connection, or that
    no connection could be had in time: the request may succeed if sent again shortly."""
    if isinstance(error, exc.TimeoutError):
        return True
    if not isinstance(error, exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    if not isinstance(error, exc.OperationalError):
        return False
    name = getattr(error.orig, "sqlite_errorname", None)
    return name is None or any(name == o or name.startswith(f"{o}_") for o in _SQLITE_OUTAGES)


def lost_connection(error: BaseException) -> bool:
    return isinstance(error, exc.DBAPIError) and error.connection_invalidated


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control from pysqlite: _sqlite_begin decides how a transaction starts.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # Deleted rows (wrapped keys above all) are overwritten, not left in free pages.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # A writing unit takes the write lock first: a deferred transaction that read
    # and then writes can fail outright in WAL mode when another writer got in between.
    immediate = connection.get_execution_options().get("immediate", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class UnitOfWork:
    """One transaction: committed if the work succeeds, rolled back otherwise.

    Work that must follow the outcome (deleting blobs whose keys were destroyed,
    or blobs written for rows that never landed) is registered with `after_commit`
    and `after_rollback` and runs once the outcome is known. Opening one does no I/O,
    so it can be started anywhere; closing it talks to the database.
    """

    def __init__(self, engine: Engine, *, writes: bool = True) -> None:
        bind = engine.execution_options(immediate=True) if writes else engine
        self.session = Session(bind, expire_on_commit=False)

    def close(self, error: BaseException | None = None) -> None:
        try:
            if error is None:
                try:
                    self.session.commit()
                except BaseException as failure:
                    self.session.rollback()
                    if lost_connection(failure):
                        # The server may have committed before the connection went: deleting
                        # the blobs of rows that did land would lose papers. Left over, they
                        # are unreadable and `vault storage gc` sweeps the unreferenced ones.
                        log.warning("the connection was lost during a commit; no clean-up")
                        _discard(self.session)
                    else:
                        _run(self.session, _AFTER_ROLLBACK)
                    raise
            else:
                self.session.rollback()
                _run(self.session, _AFTER_ROLLBACK)
        finally:
            self.session.close()


@contextmanager
def unit_of_work(engine: Engine, *, writes: bool = True) -> Iterator[Session]:
    work = UnitOfWork(engine, writes=writes)
    try:
        yield work.session
    except BaseException as error:
        work.close(error)
        raise
    work.close()


@contextmanager
def one_statement_each(engine: Engine) -> Iterator[Session]:
    """A session whose every statement commits by itself, for work whose writes are each one
    conditional statement (an agency download counting its use): on PostgreSQL that spares
    the BEGIN and COMMIT round trips around each. SQLite gets a unit of work, its writes being
    local and its write lock taken once."""
    if engine.dialect.name == "sqlite":
        with unit_of_work(engine) as session:
            yield session
        return
    session = Session(engine.execution_options(isolation_level="AUTOCOMMIT"))
    try:
        yield session
    finally:
        session.close()


def after_commit(session: Session, action: Callable[[], None]) -> None:
    session.info.setdefault(_AFTER_COMMIT, []).append(action)


def after_rollback(session: Session, action: Callable[[], None]) -> None:
    session.info.setdefault(_AFTER_ROLLBACK, []).append(action)


def purge_deleted(session: Session) -> None:
    """After a shredding commit, make SQLite drop the last copies of the deleted rows (see
    vault.sqlite_wal). PostgreSQL keeps dead tuples until vacuum and in its WAL archives;
    that limit is stated in the README."""
    engine = session.get_bind()
    if engine.dialect.name == "sqlite":
        after_commit(session, lambda: sqlite_wal.truncate_soon(engine))


def roll_back(session: Session) -> None:
    """Undo what the session wrote since it last committed, with the clean-ups registered for
    that work: for a caller that goes on with the session after a failure."""
    session.rollback()
    _run(session, _AFTER_ROLLBACK)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    """Any commit lands the work before it, the unit of work's own or one in its middle (a
    service's `end_read`, a resumable upload's part counted as received): that work's
    clean-ups follow that outcome, not the unit's end. A rollback later must not undo the
    store's side of rows that landed."""
    _run(session, _AFTER_COMMIT)


def _discard(session: Session) -> None:
    session.info.pop(_AFTER_COMMIT, None)
    session.info.pop(_AFTER_ROLLBACK, None)


def _run(session: Session, name: str) -> None:
    actions = session.info.pop(_AFTER_COMMIT, []), session.info.pop(_AFTER_ROLLBACK, [])
    for action in actions[0] if name == _AFTER_COMMIT else actions[1]:
        try:
            action()
        except Exception:
            # Leftover ciphertext is unreadable and swept by `vault storage gc`.
            log.exception("clean-up after the transaction failed")


def alembic_config(url: str, *, master: MasterKeys | None = None) -> Config:
    """The master keys travel as an attribute, never through settings or the environment:
    only a migration that seals or opens rows needs them, and it refuses to run without."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes[MASTER_KEYS] = master
    return config


def upgrade(url: str, *, master: MasterKeys | None = None) -> None:
    """Each start and each CLI command calls this: a database already at the head is answered
    by one read of its version, without alembic loading every migration file again."""
    if at_head(url):
        return
    config = alembic_config(url, master=master)
    command.upgrade(config, "head")
    if config.attributes.get(SCRUB):
        _scrub(url, sorted(config.attributes[SCRUB]))


@cache
def _heads() -> frozenset[str]:
    return frozenset(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


def at_head(url: str) -> bool:
    if url.startswith("sqlite"):
        database = make_url(url).database
        if not database or not Path(database).exists():
            return False
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_heads()
    except exc.SQLAlchemyError:
        return False  # the upgrade itself reports what is wrong
    finally:
        engine.dispose()
    return frozenset(current) == _heads()


def _scrub(url: str, tables: list[str]) -> None:
    """Drop the old images of rows a migration rewrote, which held what is now sealed.

    SQLite keeps them in the WAL until a checkpoint truncates it, and in free space in the file:
    `secure_delete` zeroes what is freed now, VACUUM rebuilds the file from live rows and so
    also drops what was freed by anything that ran without it. The -shm index holds page
    numbers, not content. PostgreSQL keeps dead tuples in a table's files until VACUUM FULL
    rewrites them; its WAL segments and backups keep them until recycled or expired, as they
    keep shredded rows."""
    engine = make_engine(url)
    try:
        if engine.dialect.name == "sqlite":
            raw = engine.raw_connection()
            try:
                raw.driver_connection.execute("VACUUM")  # type: ignore[union-attr]
            finally:
                raw.close()
            sqlite_wal.truncate_soon(engine)
            if not sqlite_wal.wait(engine, timeout=60):
                raise RuntimeError(
                    "the SQLite WAL could not be truncated after the migration: another process "
                    "holds the database open, and the log keeps the old rows until it closes"
                )
        else:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql(f"VACUUM FULL {', '.join(tables)}")
    finally:
        engine.dispose()
