"""Shredding on SQLite: the WAL loses the deleted rows even while readers hold it open, and
the deleting request never waits for those readers."""

import sqlite3
from pathlib import Path

from sqlmodel import text

from vault import db
from vault.db import sqlite_wal

SECRET = bytes.fromhex("AB" * 64)


def test_the_wal_is_truncated_once_readers_let_go(tmp_path: Path) -> None:
    path = tmp_path / "vault.db"
    engine = db.make_engine(f"sqlite:///{path}")
    with db.unit_of_work(engine) as session:
        session.execute(text("CREATE TABLE k (x BLOB)"))
        session.execute(text("INSERT INTO k VALUES (:x)"), {"x": SECRET})
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    assert reader.execute("SELECT x FROM k").fetchone() == (SECRET,)

    with db.unit_of_work(engine) as session:
        session.execute(text("DELETE FROM k"))
        db.purge_deleted(session)
    # The reader still holds the log: the truncation waits for it, not the request.
    assert not sqlite_wal.wait(engine, timeout=0.5)
    reader.execute("COMMIT")
    reader.close()
    assert sqlite_wal.wait(engine, timeout=30)
    wal = Path(f"{path}-wal")
    assert not wal.exists() or SECRET not in wal.read_bytes()
    assert SECRET not in path.read_bytes()
    engine.dispose()
