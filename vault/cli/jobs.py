"""`vault worker` and `vault jobs …`: running the job queue and looking after it."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Annotated

import typer

from vault import db
from vault.cli.common import fail, load_settings, operator_errors
from vault.jobs import runner

app = typer.Typer(
    help="The job queue: what is waiting, what failed, what is due.", no_args_is_help=True
)


def worker(
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Jobs run at once.")] = 2,
    burst: Annotated[
        bool,
        typer.Option(help="Run until the queue is empty, then exit (1 if a job failed for good)."),
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose",
            help="Log each job's start and success too, not only errors, retries and aborts.",
        ),
    ] = False,
) -> None:
    """Run the job queue: reminders, notices, audit anchors, storage gc, key rewraps. Stops
    after the jobs in hand on SIGTERM. Run as many as needed, on any hosts (PostgreSQL)."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    with operator_errors():
        tally = runner.work(
            load_settings(), concurrency=concurrency, burst=burst, log_each_job=verbose
        )
    if burst and tally.failed_for_good:
        typer.echo(
            f"{tally.failed_for_good} jobs failed for good; see `vault jobs list --failed`",
            err=True,
        )
        raise typer.Exit(code=1)


@app.command("list")
def jobs_list(
    failed: Annotated[
        bool, typer.Option("--failed", help="Only the jobs that failed for good.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array.")] = False,
) -> None:
    """Jobs waiting, running, scheduled for later, or failed for good."""
    with operator_errors():
        found = runner.jobs(load_settings(), failed=failed)
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "id": job.id,
                        "task": job.task,
                        "state": job.state,
                        "attempts": job.attempts,
                        "scheduled_at": job.scheduled_at.isoformat() if job.scheduled_at else None,
                        "args": job.args,
                    }
                    for job in found
                ]
            )
        )
        return
    for job in found:
        args = " ".join(f"{key}={value}" for key, value in sorted(job.args.items()))
        typer.echo(f"{job.id}\t{job.state}\t{job.task}\t{args}")
    if not found:
        typer.echo("no failed jobs" if failed else "the queue is empty")


@app.command("retry")
def jobs_retry(job_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """Run a job that failed for good once more."""
    with operator_errors():
        if not runner.retry(load_settings(), job_id):
            raise fail(f"no failed job has the id {job_id}; see `vault jobs list --failed`")
    typer.echo(f"job {job_id} is queued again")


@app.command("run-due")
def jobs_run_due(
    at: Annotated[
        datetime | None,
        typer.Option(
            "--at",
            formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"],
            help="ISO-8601 moment (default now; without a zone, UTC).",
        ),
    ] = None,
) -> None:
    """Enqueue the periodic work due at that moment that has not run for its day (its hour)
    yet, and run the queue to empty."""
    moment = db.utc_now() if at is None else at if at.tzinfo else at.replace(tzinfo=UTC)
    with operator_errors():
        enqueued, tally = runner.run_due(load_settings(), moment)
    for task, slot in enqueued:
        typer.echo(f"enqueued {task} for {slot}")
    typer.echo(f"ran {tally.ran} jobs; {tally.failed_for_good} failed for good")
    if tally.failed_for_good:
        raise typer.Exit(code=1)
