"""`vault agency …`: registering receiving agencies and their credentials."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Annotated

import typer

from vault import agencies
from vault.assist import agency_keys
from vault.cli.common import fail, keyring, load_settings, operator_errors, unit_of_work
from vault.crypto import signatures

app = typer.Typer(help="Receiving agencies and their credentials.", no_args_is_help=True)


def _print_credentials(
    credentials: agencies.Credentials, as_json: bool, private_key: str | None = None
) -> None:
    shown = dataclasses.asdict(credentials) | ({"private_key": private_key} if private_key else {})
    if as_json:
        typer.echo(json.dumps(shown))
        return
    typer.echo(f"agency:        {credentials.code}")
    typer.echo(f"client_id:     {credentials.client_id}")
    typer.echo(f"client_secret: {credentials.client_secret}")
    if private_key:
        typer.echo(private_key, nl=False)
    typer.echo("Secrets are shown only now; the vault keeps a hash and the public key.", err=True)


@app.command("create")
def agency_create(
    code: Annotated[str, typer.Option(help="Short unique code, e.g. UBND-HAICHAU.")],
    name: Annotated[str, typer.Option(help="The agency's name, as citizens know it.")],
    level: Annotated[str, typer.Option(help="commune, province or central.")] = "commune",
    public_key: Annotated[
        Path | None, typer.Option(help="PEM public key (Ed25519 or ECDSA P-256) it signs with.")
    ] = None,
    generate_key: Annotated[
        bool, typer.Option(help="Make an Ed25519 signing pair; print the private key once.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Register an agency; prints its client id and secret once."""
    private_pem, public_pem = _signing_key(public_key, generate_key)
    with unit_of_work() as session:
        credentials = agencies.create(
            session, code=code, name=name, level=level, public_key_pem=public_pem
        )
    _print_credentials(credentials, as_json, private_pem)


@app.command("set-key")
def agency_set_key(
    code: Annotated[str, typer.Option(help="The agency's code.")],
    public_key: Annotated[Path | None, typer.Option(help="PEM public key file.")] = None,
    generate_key: Annotated[bool, typer.Option(help="Make a new Ed25519 pair.")] = False,
) -> None:
    """Register the key an agency signs issued papers with; deposited papers keep theirs."""
    private_pem, public_pem = _signing_key(public_key, generate_key)
    if public_pem is None:
        raise fail("give --public-key FILE or --generate-key")
    with unit_of_work() as session:
        agencies.set_signing_key(session, code, public_pem)
    typer.echo(f"signing key of {code} registered")
    if private_pem:
        typer.echo(private_pem, nl=False)
        typer.echo(
            "The private key is shown only now; the vault keeps only the public key.", err=True
        )


def _signing_key(public_key: Path | None, generate: bool) -> tuple[str | None, str | None]:
    if public_key and generate:
        raise fail("give either --public-key or --generate-key, not both")
    if generate:
        return signatures.generate()
    with operator_errors():
        return None, public_key.read_text(encoding="utf-8") if public_key else None


@app.command("list")
def agency_list() -> None:
    """Every agency, with its state."""
    with unit_of_work(writes=False) as session:
        rows = agencies.list_all(session)
        for agency in rows:
            state = "disabled" if agency.disabled_at else "active"
            signing = "signing-key" if agency.signing_key_pem else "no-key"
            fields = (agency.code, state, agency.level, signing, agency.client_id, agency.name)
            typer.echo("\t".join(fields))


@app.command("disable")
def agency_disable(code: Annotated[str, typer.Option(help="The agency's code.")]) -> None:
    """Stop an agency at once: its tokens die, its secret is refused, its grants open nothing."""
    with unit_of_work() as session:
        agencies.disable(session, code)
    typer.echo(f"disabled {code}")


@app.command("rotate-secret")
def agency_rotate_secret(
    code: Annotated[str, typer.Option(help="The agency's code.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """A new client secret; the old one stops working at once."""
    with unit_of_work() as session:
        credentials = agencies.rotate_secret(session, code)
    _print_credentials(credentials, as_json)


@app.command("certify-key")
def agency_certify_key(
    code: Annotated[str, typer.Option(help="The agency's code.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Make the Ed25519 key the agency's officers certify copies with, or rotate it: the new
    key signs from now on, the old one stays published so that what it signed still verifies.
    The private key is kept wrapped under the master key and never shown; prints the key id."""
    with operator_errors():
        ring = keyring(load_settings())
    with unit_of_work() as session:
        key_id = agency_keys.make_certify_key(session, ring, code)
    if as_json:
        typer.echo(json.dumps({"agency": code, "key_id": key_id, "use": agency_keys.CERTIFY}))
        return
    typer.echo(f"certifying key of {code}: {key_id}")
    typer.echo(f"its public key is at GET /api/v1/agencies/{code}/keys", err=True)
