"""What a thief of the database's files, or of the server's temporary files, would read."""

import contextlib
import os
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import text

from vault.settings import Settings


def raw_database(app: FastAPI, settings: Settings) -> bytes:
    """SQLite: the bytes of the database file, its WAL and its shared-memory index. PostgreSQL:
    every row of every table, as text."""
    url = settings.resolved_database_url
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        files = (path, Path(f"{path}-wal"), Path(f"{path}-shm"))
        return b"".join(p.read_bytes() for p in files if p.exists())
    with app.state.engine.connect() as connection:
        tables = (
            connection.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
            .scalars()
            .all()
        )
        rows = [
            connection.execute(text(f"SELECT row_to_json(t)::text FROM {table} t")).scalars().all()
            for table in tables
        ]
    return "\n".join(r for table in rows for r in table).encode()


def open_spools(directory: Path) -> dict[int, bytes]:
    """The contents of the files this process holds open in `directory`, by descriptor: upload
    spools have no name there (O_TMPFILE), so they are found through /proc."""
    found = {}
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/self/fd/{fd}").startswith(f"{directory}/"):
                found[int(fd)] = Path(f"/proc/self/fd/{fd}").read_bytes()
    return found
