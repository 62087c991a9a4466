"""`vault storage …`: upkeep of the blob store."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer

from vault import bootstrap, db
from vault.cli.common import load_settings, operator_errors
from vault.documents import sweep

GRACE_MINUTES_MAX = 10 * 366 * 24 * 60  # ten years

app = typer.Typer(help="The blob store.", no_args_is_help=True)


@app.command("gc")
def storage_gc(
    grace_minutes: Annotated[
        int,
        typer.Option(
            help="Keep blobs younger than this: uploads still arriving on slow connections "
            "(0 only while no server runs).",
            min=0,
            max=GRACE_MINUTES_MAX,
        ),
    ] = 60,
    dry_run: Annotated[bool, typer.Option(help="Only count what would be deleted.")] = False,
) -> None:
    """Delete resumable uploads past their time, then blobs that nothing refers to (left by a
    crash or a failed commit)."""
    with operator_errors():
        settings = load_settings()
        engine = db.make_engine(settings.resolved_database_url)
        report = sweep.sweep(
            engine,
            bootstrap.build_store(settings),
            grace=timedelta(minutes=grace_minutes),
            dry_run=dry_run,
        )
    verb = "would delete" if dry_run else "deleted"
    typer.echo(
        f"scanned {report.scanned} blobs, {verb} {report.deleted}, kept {report.young} young"
        + (
            ""
            if dry_run
            else f"; aborted {report.aborted} incomplete uploads"
            f"; removed {report.expired_uploads} expired resumable uploads"
        )
    )
