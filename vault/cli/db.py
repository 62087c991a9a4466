"""`vault db …`: the database schema."""

from __future__ import annotations

import typer

from vault import db
from vault.cli.common import keyring, load_settings, operator_errors, vouch_for

app = typer.Typer(help="The database schema.", no_args_is_help=True)


@app.command("upgrade")
def db_upgrade() -> None:
    """Apply the schema migrations (`vault serve` does this on start). The master key file is
    read if it exists: a migration that seals rows needs it, and says so when it is missing.
    With it, the database then vouches for its versions (`vouch_for`)."""
    with operator_errors():
        settings = load_settings()
        settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # the SQLite default
        key_file = settings.resolved_master_key_file
        master = keyring(settings).master if key_file.exists() else None
        db.upgrade(settings.resolved_database_url, master=master)
        if master is not None:
            vouch_for(settings, master)
