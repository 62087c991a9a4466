"""Scratch PostgreSQL databases: one made for a test or a benchmark, dropped after it."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy
from sqlalchemy.engine import make_url


@contextmanager
def scratch_database(admin_url: str, prefix: str = "vault_scratch") -> Iterator[str]:
    """The URL of a new, empty database on the server of `admin_url`; dropped afterwards, its
    connections ended."""
    name = f"{prefix}_{secrets.token_hex(6)}"
    admin = sqlalchemy.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
