"""`vault db …`: the database schema."""

from __future__ import annotations

import typer

from vault import db
from vault.cli.common import load_settings, operator_errors

app = typer.Typer(help="The database schema.", no_args_is_help=True)


@app.command("upgrade")
def db_upgrade() -> None:
    """Apply the schema migrations (`vault serve` does this on start)."""
    with operator_errors():
        settings = load_settings()
        settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # the SQLite default
        db.upgrade(settings.resolved_database_url)
