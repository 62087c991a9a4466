"""Alembic environment: the schema is vault.models' SQLModel metadata."""

from alembic import context
from sqlmodel import SQLModel

import vault.tables  # noqa: F401  (registers the tables)
from vault.db import make_engine

target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    engine = make_engine(context.config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # A batch migration rebuilds a table by dropping it: with foreign keys on, the drop
            # would cascade into every table that refers to it (a downgrade lost every grant).
            # Outside any transaction, where SQLite honours it; checked again below.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=sqlite
        )
        with context.begin_transaction():
            context.run_migrations()
            if sqlite and connection.exec_driver_sql("PRAGMA foreign_key_check").first():
                raise RuntimeError("the migration left rows whose foreign keys point nowhere")
    engine.dispose()


run_migrations_online()
