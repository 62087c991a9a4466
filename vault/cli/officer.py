"""`vault officer …`: counter officers' logins."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from vault.accounts import officers
from vault.cli.common import unit_of_work

app = typer.Typer(help="Counter officers who act for an agency.", no_args_is_help=True)


@app.command("create")
def officer_create(
    agency: Annotated[str, typer.Option(help="The agency's code.")],
    username: Annotated[str, typer.Option(help="The officer's login name.")],
    name: Annotated[str, typer.Option(help="The officer's full name.")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Give a person at the counter their own login; prints a generated password once."""
    with unit_of_work() as session:
        officer, password = officers.create(
            session, agency_code=agency, username=username, full_name=name or username
        )
        created = {"agency": agency, "username": officer.username, "password": password}
    if as_json:
        typer.echo(json.dumps(created))
        return
    typer.echo(f"officer {created['username']} of {agency}; password: {password}")
    typer.echo("The password is shown only now; the officer can log in at /agency/login.", err=True)


@app.command("list")
def officer_list(agency: Annotated[str, typer.Option(help="The agency's code.")]) -> None:
    with unit_of_work(writes=False) as session:
        for officer in officers.list_for(session, agency):
            state = "disabled" if officer.disabled_at else "active"
            typer.echo(f"{officer.username}\t{state}\t{officer.full_name}")


@app.command("disable")
def officer_disable(
    username: Annotated[str, typer.Option(help="The officer's login name.")],
) -> None:
    """Stop an officer at once: their sessions end."""
    with unit_of_work() as session:
        officers.disable(session, username)
    typer.echo(f"disabled {username}")
