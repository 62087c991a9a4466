"""`vault procedures …`: the catalog of administrative procedures."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vault.catalog import procedures
from vault.cli.common import operator_errors, unit_of_work

app = typer.Typer(help="The catalog of administrative procedures.", no_args_is_help=True)


@app.command("import")
def procedures_import(
    file: Annotated[
        Path, typer.Argument(help="A JSON catalog shaped like vault/data/procedures.json.")
    ],
) -> None:
    """Add or replace procedures from a file; the whole file is checked before anything changes."""
    with operator_errors():
        text = file.read_text(encoding="utf-8")
    with unit_of_work() as session:
        specs = procedures.parse(text)
        added, replaced = procedures.import_specs(session, specs)
    typer.echo(f"imported {len(specs)} procedures: {added} added, {replaced} replaced")


@app.command("list")
def procedures_list() -> None:
    """Code, level, required papers and name of every procedure."""
    with unit_of_work(writes=False) as session:
        for spec in procedures.list_all(session):
            papers = ",".join(r.doc_type + ("" if r.required else "?") for r in spec.requirements)
            typer.echo(f"{spec.code}\t{spec.agency_level}\t{papers}\t{spec.name}")
