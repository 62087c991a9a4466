"""`vault keys …`: creating, rotating, checking and retiring master keys."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vault import db
from vault.cli.common import fail, keyring, load_settings, operator_errors
from vault.crypto import masterkeys
from vault.keys import Keyring
from vault.settings import Settings

app = typer.Typer(help="Master keys: rotation and status.", no_args_is_help=True)


@app.command("init")
def keys_init(
    file: Annotated[
        Path | None, typer.Option(help="Where to write it; default VAULT_MASTER_KEY_FILE.")
    ] = None,
) -> None:
    """Create a new master key file (mode 0600). Refuses to overwrite an existing one."""
    with operator_errors():
        path = file or load_settings().resolved_master_key_file
        if path.exists():
            raise fail(f"{path} already exists; it is never overwritten")
        masterkeys.create(path)
    typer.echo(f"created {path}; back it up apart from the database")


@app.command("rotate")
def keys_rotate() -> None:
    """Add a master key version and rewrap every citizen key and the index key under it. No
    object is touched."""
    with operator_errors():
        settings = load_settings()
        version = masterkeys.add_version(settings.resolved_master_key_file)
        typer.echo(f"added master key version {version}")
        _rewrap(settings)


@app.command("rewrap")
def keys_rewrap() -> None:
    """Finish an interrupted rotation: rewrap keys still under older versions."""
    with operator_errors():
        _rewrap(load_settings())


def _rewrap(settings: Settings) -> None:
    ring = keyring(settings)
    engine = db.make_engine(settings.resolved_database_url)
    with db.unit_of_work(engine) as session:
        count = ring.rewrap(session)
    typer.echo(f"rewrapped {count} citizen keys under version {ring.master.current_version}")


@app.command("status")
def keys_status() -> None:
    """Master key versions and how many citizen keys and index keys each one still wraps."""
    with operator_errors():
        settings = load_settings()
        ring = keyring(settings)
        engine = db.make_engine(settings.resolved_database_url)
        with db.unit_of_work(engine, writes=False) as session:
            usage = Keyring.usage(session)
            index_keys = Keyring.index_key_usage(session)
    current = ring.master.current_version
    for version in ring.master.versions:
        mark = " (current)" if version == current else ""
        typer.echo(f"v{version}{mark}: wraps {_wrapped(version, usage, index_keys)}")
    lost = sorted((set(usage) | set(index_keys)) - set(ring.master.versions))
    for version in lost:
        typer.secho(
            f"v{version} (NOT in the key file): wraps {_wrapped(version, usage, index_keys)}, "
            "unreadable until this version is restored from a backup of the key file",
            fg=typer.colors.RED,
        )
    if lost:
        raise typer.Exit(code=1)


@app.command("retire")
def keys_retire(
    version: Annotated[int, typer.Option(help="The master key version to remove.")],
) -> None:
    """Remove an old master key version once no citizen key or index key is wrapped under it."""
    with operator_errors():
        settings = load_settings()
        if version == keyring(settings).master.current_version:
            raise fail(f"version {version} is the current master key; rotate first")
        engine = db.make_engine(settings.resolved_database_url)
        with db.unit_of_work(engine, writes=False) as session:
            usage = Keyring.usage(session)
            index_keys = Keyring.index_key_usage(session)
        if usage.get(version) or index_keys.get(version):
            raise fail(
                f"version {version} still wraps {_wrapped(version, usage, index_keys)}; "
                "run `vault keys rewrap`"
            )
        masterkeys.remove_version(settings.resolved_master_key_file, version)
    typer.echo(f"removed master key version {version}")


def _wrapped(version: int, usage: dict[int, int], index_keys: dict[int, int]) -> str:
    wrapped = f"{usage.get(version, 0)} citizen keys"
    if index_keys.get(version):
        wrapped += f" and {index_keys[version]} index keys"
    return wrapped
