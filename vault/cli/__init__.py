"""The operator's commands, one module per command group: `vault serve`, `vault keys …`,
`vault db …`, `vault storage …`, `vault agency …`, `vault officer …`, `vault procedures …`,
`vault audit …`, `vault worker`, `vault jobs …`.

Commands are thin callers of the domain services; each owns its unit of work."""

from __future__ import annotations

import typer

from vault import bootstrap
from vault.cli import agency, audit, db, jobs, keys, officer, procedures, serve, storage

app = typer.Typer(help="Citizen document vault.", no_args_is_help=True, add_completion=False)
app.callback()(bootstrap.keep_files_private)
app.command()(serve.serve)
app.add_typer(keys.app, name="keys")
app.add_typer(agency.app, name="agency")
app.add_typer(audit.app, name="audit")
app.add_typer(procedures.app, name="procedures")
app.add_typer(officer.app, name="officer")
app.add_typer(storage.app, name="storage")
app.add_typer(db.app, name="db")
app.command()(jobs.worker)
app.add_typer(jobs.app, name="jobs")
