"""The operator's commands: `vault serve`, `vault keys …`, `vault storage gc`, `vault db …`."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError
from sqlmodel import Session

from storage import StoreUnavailable
from vault import agencies, audit, audit_anchors, bootstrap, db, officers, procedures, sweep
from vault.crypto import MasterKeyError, masterkeys, signatures
from vault.errors import VaultError
from vault.keys import Keyring
from vault.settings import Settings

GRACE_MINUTES_MAX = 10 * 366 * 24 * 60  # ten years

app = typer.Typer(help="Citizen document vault.", no_args_is_help=True, add_completion=False)
keys_app = typer.Typer(help="Master keys: rotation and status.", no_args_is_help=True)
storage_app = typer.Typer(help="The blob store.", no_args_is_help=True)
db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
agency_app = typer.Typer(help="Receiving agencies and their credentials.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
procedures_app = typer.Typer(help="The catalog of administrative procedures.", no_args_is_help=True)
officer_app = typer.Typer(help="Counter officers who act for an agency.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(agency_app, name="agency")
app.add_typer(audit_app, name="audit")
app.add_typer(procedures_app, name="procedures")
app.add_typer(officer_app, name="officer")
app.add_typer(storage_app, name="storage")
app.add_typer(db_app, name="db")


def _fail(message: str) -> typer.Exit:
    typer.secho(f"vault: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code=2)


@contextmanager
def _operator_errors() -> Iterator[None]:
    try:
        yield
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in error.errors()
        )
        raise _fail(f"invalid settings: {problems}") from None
    except (MasterKeyError, VaultError, StoreUnavailable) as error:
        raise _fail(str(error)) from None
    except (OperationalError, ProgrammingError):
        # Not the driver's message: it can carry the statement and its parameters.
        raise _fail(
            "the database is not reachable or not set up yet: check VAULT_DATABASE_URL, then run "
            "`vault db upgrade` (or start `vault serve` once)"
        ) from None
    except DBAPIError:
        raise _fail("the database refused the change; nothing was changed") from None
    except UnicodeDecodeError:
        raise _fail("a file given is not UTF-8 text") from None
    except OSError as error:
        raise _fail(f"{error.filename or 'a file'}: {error.strerror or error}") from None


def _settings() -> Settings:
    return Settings()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """Prepare the data directory, key and schema, then serve the vault."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    with _operator_errors():
        settings = _settings()
        bootstrap.prepare(settings)
    uvicorn.run(
        "vault.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        server_header=False,
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the schema migrations (`vault serve` does this on start)."""
    with _operator_errors():
        settings = _settings()
        settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # the SQLite default
        db.upgrade(settings.resolved_database_url)


def _keyring(settings: Settings) -> Keyring:
    return Keyring(settings.resolved_master_key_file, require_private=settings.env == "production")


@keys_app.command("init")
def keys_init(
    file: Annotated[
        Path | None, typer.Option(help="Where to write it; default VAULT_MASTER_KEY_FILE.")
    ] = None,
) -> None:
    """Create a new master key file (mode 0600). Refuses to overwrite an existing one."""
    with _operator_errors():
        path = file or _settings().resolved_master_key_file
        if path.exists():
            raise _fail(f"{path} already exists; it is never overwritten")
        masterkeys.create(path)
    typer.echo(f"created {path}; back it up apart from the database")


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Add a master key version and rewrap every citizen key under it. No object is touched."""
    with _operator_errors():
        settings = _settings()
        version = masterkeys.add_version(settings.resolved_master_key_file)
        typer.echo(f"added master key version {version}")
        _rewrap(settings)


@keys_app.command("rewrap")
def keys_rewrap() -> None:
    """Finish an interrupted rotation: rewrap citizen keys still under older versions."""
    with _operator_errors():
        _rewrap(_settings())


def _rewrap(settings: Settings) -> None:
    keyring = _keyring(settings)
    engine = db.make_engine(settings.resolved_database_url)
    with db.unit_of_work(engine) as session:
        count = keyring.rewrap(session)
    typer.echo(f"rewrapped {count} citizen keys under version {keyring.master.current_version}")


@keys_app.command("status")
def keys_status() -> None:
    """Master key versions and how many citizen keys each one still wraps."""
    with _operator_errors():
        settings = _settings()
        keyring = _keyring(settings)
        engine = db.make_engine(settings.resolved_database_url)
        with db.unit_of_work(engine, writes=False) as session:
            usage = Keyring.usage(session)
    current = keyring.master.current_version
    for version in keyring.master.versions:
        mark = " (current)" if version == current else ""
        typer.echo(f"v{version}{mark}: wraps {usage.get(version, 0)} citizen keys")
    lost = sorted(set(usage) - set(keyring.master.versions))
    for version in lost:
        typer.secho(
            f"v{version} (NOT in the key file): wraps {usage[version]} citizen keys, unreadable "
            "until this version is restored from a backup of the key file",
            fg=typer.colors.RED,
        )
    if lost:
        raise typer.Exit(code=1)


@keys_app.command("retire")
def keys_retire(
    version: Annotated[int, typer.Option(help="The master key version to remove.")],
) -> None:
    """Remove an old master key version once no citizen key is wrapped under it."""
    with _operator_errors():
        settings = _settings()
        if version == _keyring(settings).master.current_version:
            raise _fail(f"version {version} is the current master key; rotate first")
        engine = db.make_engine(settings.resolved_database_url)
        with db.unit_of_work(engine, writes=False) as session:
            still = Keyring.usage(session).get(version, 0)
        if still:
            raise _fail(
                f"version {version} still wraps {still} citizen keys; run `vault keys rewrap`"
            )
        masterkeys.remove_version(settings.resolved_master_key_file, version)
    typer.echo(f"removed master key version {version}")


@storage_app.command("gc")
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
    """Delete blobs that no document refers to (left by a crash or a failed commit)."""
    with _operator_errors():
        settings = _settings()
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
        + ("" if dry_run else f"; aborted {report.aborted} incomplete uploads")
    )


@contextmanager
def _session(*, writes: bool = True) -> Iterator[Session]:
    with _operator_errors():
        engine = db.make_engine(_settings().resolved_database_url)
        with db.unit_of_work(engine, writes=writes) as session:
            yield session


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


@agency_app.command("create")
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
    with _session() as session:
        credentials = agencies.create(
            session, code=code, name=name, level=level, public_key_pem=public_pem
        )
    _print_credentials(credentials, as_json, private_pem)


@agency_app.command("set-key")
def agency_set_key(
    code: Annotated[str, typer.Option(help="The agency's code.")],
    public_key: Annotated[Path | None, typer.Option(help="PEM public key file.")] = None,
    generate_key: Annotated[bool, typer.Option(help="Make a new Ed25519 pair.")] = False,
) -> None:
    """Register the key an agency signs issued papers with; deposited papers keep theirs."""
    private_pem, public_pem = _signing_key(public_key, generate_key)
    if public_pem is None:
        raise _fail("give --public-key FILE or --generate-key")
    with _session() as session:
        agencies.set_signing_key(session, code, public_pem)
    typer.echo(f"signing key of {code} registered")
    if private_pem:
        typer.echo(private_pem, nl=False)
        typer.echo(
            "The private key is shown only now; the vault keeps only the public key.", err=True
        )


def _signing_key(public_key: Path | None, generate: bool) -> tuple[str | None, str | None]:
    if public_key and generate:
        raise _fail("give either --public-key or --generate-key, not both")
    if generate:
        return signatures.generate()
    with _operator_errors():
        return None, public_key.read_text(encoding="utf-8") if public_key else None


@agency_app.command("list")
def agency_list() -> None:
    """Every agency, with its state."""
    with _session(writes=False) as session:
        rows = agencies.list_all(session)
        for agency in rows:
            state = "disabled" if agency.disabled_at else "active"
            signing = "signing-key" if agency.signing_key_pem else "no-key"
            fields = (agency.code, state, agency.level, signing, agency.client_id, agency.name)
            typer.echo("\t".join(fields))


@agency_app.command("disable")
def agency_disable(code: Annotated[str, typer.Option(help="The agency's code.")]) -> None:
    """Stop an agency at once: its tokens die, its secret is refused, its grants open nothing."""
    with _session() as session:
        agencies.disable(session, code)
    typer.echo(f"disabled {code}")


@agency_app.command("rotate-secret")
def agency_rotate_secret(
    code: Annotated[str, typer.Option(help="The agency's code.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """A new client secret; the old one stops working at once."""
    with _session() as session:
        credentials = agencies.rotate_secret(session, code)
    _print_credentials(credentials, as_json)


@audit_app.command("verify")
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
    with _operator_errors():
        settings = _settings()
        engine = db.make_engine(settings.resolved_database_url)
        result = audit.verify(engine)
        breaks = list(result.breaks)
        if anchors is not None:
            lines = anchors.read_text(encoding="utf-8").splitlines()
            anchored = audit_anchors.check(engine, _keyring(settings).master, lines)
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


@audit_app.command("anchor")
def audit_anchor(
    file: Annotated[
        Path | None,
        typer.Option(help="Append here; default VAULT_DATA_DIR/audit-anchors.jsonl. '-': print."),
    ] = None,
) -> None:
    """Record the last link of every chain, authenticated with the master key. Run it on a
    schedule and keep the file off this host: `vault audit verify --anchors` then detects a
    chain rewritten since, even with every hash recomputed."""
    with _operator_errors():
        settings = _settings()
        engine = db.make_engine(settings.resolved_database_url)
        anchor = audit_anchors.take(engine, _keyring(settings).master)
    line = json.dumps(anchor, ensure_ascii=False)
    if file == Path("-"):
        typer.echo(line)
        return
    target = file or settings.data_dir / "audit-anchors.jsonl"
    with _operator_errors(), target.open("a", encoding="utf-8") as out:
        out.write(line + "\n")
    typer.echo(f"anchored {len(anchor['heads'])} chains in {target}")


@procedures_app.command("import")
def procedures_import(
    file: Annotated[
        Path, typer.Argument(help="A JSON catalog shaped like vault/data/procedures.json.")
    ],
) -> None:
    """Add or replace procedures from a file; the whole file is checked before anything changes."""
    with _operator_errors():
        text = file.read_text(encoding="utf-8")
    with _session() as session:
        specs = procedures.parse(text)
        added, replaced = procedures.import_specs(session, specs)
    typer.echo(f"imported {len(specs)} procedures: {added} added, {replaced} replaced")


@procedures_app.command("list")
def procedures_list() -> None:
    """Code, level, required papers and name of every procedure."""
    with _session(writes=False) as session:
        for spec in procedures.list_all(session):
            papers = ",".join(r.doc_type + ("" if r.required else "?") for r in spec.requirements)
            typer.echo(f"{spec.code}\t{spec.agency_level}\t{papers}\t{spec.name}")


@officer_app.command("create")
def officer_create(
    agency: Annotated[str, typer.Option(help="The agency's code.")],
    username: Annotated[str, typer.Option(help="The officer's login name.")],
    name: Annotated[str, typer.Option(help="The officer's full name.")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Give a person at the counter their own login; prints a generated password once."""
    with _session() as session:
        officer, password = officers.create(
            session, agency_code=agency, username=username, full_name=name or username
        )
        created = {"agency": agency, "username": officer.username, "password": password}
    if as_json:
        typer.echo(json.dumps(created))
        return
    typer.echo(f"officer {created['username']} of {agency}; password: {password}")
    typer.echo("The password is shown only now; the officer can log in at /agency/login.", err=True)


@officer_app.command("list")
def officer_list(agency: Annotated[str, typer.Option(help="The agency's code.")]) -> None:
    with _session(writes=False) as session:
        for officer in officers.list_for(session, agency):
            state = "disabled" if officer.disabled_at else "active"
            typer.echo(f"{officer.username}\t{state}\t{officer.full_name}")


@officer_app.command("disable")
def officer_disable(
    username: Annotated[str, typer.Option(help="The officer's login name.")],
) -> None:
    """Stop an officer at once: their sessions end."""
    with _session() as session:
        officers.disable(session, username)
    typer.echo(f"disabled {username}")
