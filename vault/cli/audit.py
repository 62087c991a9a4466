"""`vault audit …`: verifying and anchoring the audit chains."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from vault import audit, db
from vault.audit import anchors as anchor_log
from vault.cli.common import keyring, load_settings, operator_errors

app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)


@app.command("verify")
def audit_verify(
    anchors: Annotated[
        Path | None,
        typer.Option(
            help="An anchor file from `vault audit anchor`: its links must still be there."
        ),
    ] = None,
) -> None:
    """Check every hash chain, and the anchors if given; name the first broken link of each
    chain and exit non-zero if any."""
    with operator_errors():
        settings = load_settings()
        engine = db.make_engine(settings.resolved_database_url)
        result = audit.verify(engine)
        breaks = list(result.breaks)
        if anchors is not None:
            lines = anchors.read_text(encoding="utf-8").splitlines()
            anchored = anchor_log.check(engine, keyring(settings).master, lines)
            breaks += anchored.breaks
    for broken in breaks:
        typer.secho(
            f"BROKEN chain {broken.chain} at link {broken.seq}: {broken.problem}",
            fg=typer.colors.RED,
        )
    typer.echo(f"checked {result.events} events in {result.chains} chains")
    if anchors is not None:
        typer.echo(f"checked {anchored.links} anchored links in {anchored.anchors} anchors")
    if breaks:
        raise typer.Exit(code=1)


@app.command("anchor")
def audit_anchor(
    file: Annotated[
        Path | None,
        typer.Option(help="Append here; default VAULT_DATA_DIR/audit-anchors.jsonl. '-': print."),
    ] = None,
) -> None:
    """Record the last link of every chain, authenticated with the master key. Run it on a
    schedule and keep the file off this host: `vault audit verify --anchors` then detects a
    chain rewritten since, even with every hash recomputed."""
    with operator_errors():
        settings = load_settings()
        engine = db.make_engine(settings.resolved_database_url)
        anchor = anchor_log.take(engine, keyring(settings).master)
    line = json.dumps(anchor, ensure_ascii=False)
    if file == Path("-"):
        typer.echo(line)
        return
    target = file or settings.data_dir / "audit-anchors.jsonl"
    with operator_errors():
        anchor_log.append(target, anchor)
    typer.echo(f"anchored {len(anchor['heads'])} chains in {target}")
