"""`vault keys …`: creating, rotating, checking and retiring master keys."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vault import bootstrap, db, queue
from vault.audit import anchors, checkpoints
from vault.cli.common import fail, keyring, load_settings, operator_errors, vouch_for
from vault.crypto import masterkeys, notes
from vault.keys import Keyring, checks, rotation, signing_keys
from vault.settings import Settings

app = typer.Typer(help="Master keys: rotation and status.", no_args_is_help=True)


def _not_a_copy(settings: Settings) -> None:
    """Inside a container the key file is the entrypoint's copy of the secret, on a tmpfs: a
    version added there would vanish with the container, after keys were rewrapped under it."""
    secret, path = settings.master_key_secret, settings.resolved_master_key_file
    if secret is None or not secret.exists() or not path.exists() or path.samefile(secret):
        return
    raise fail(
        f"{path} is this container's copy of the secret {secret}, gone when the container "
        'stops: change the secret\'s own file instead (README, "Key rotation": '
        '`docker compose run … --user 0 -v "$PWD/secrets:/keys" … prepare keys rotate`)'
    )


@app.command("init")
def keys_init(
    file: Annotated[
        Path | None, typer.Option(help="Where to write it; default VAULT_MASTER_KEY_FILE.")
    ] = None,
) -> None:
    """Create a new master key file (mode 0600) for an empty vault. Refuses to overwrite one,
    or to make the configured one while the database needs the key it lost."""
    with operator_errors():
        settings = load_settings()
        path = file or settings.resolved_master_key_file
        if path.exists():
            raise fail(f"{path} already exists; it is never overwritten")
        if path.resolve() == settings.resolved_master_key_file.resolve():
            report = bootstrap.key_report(settings)
            if report.survey.needed:
                wraps = ", ".join(f"v{v.version} wraps {v.wraps}" for v in report.survey.needed)
                raise fail(
                    f"refusing to create {report.where}: the database needs the master key it "
                    f"was wrapped under ({wraps}), which a new key cannot open; put the key file "
                    "back from its backup"
                )
        masterkeys.create(path)
        if path.resolve() == settings.resolved_master_key_file.resolve() and db.at_head(
            settings.resolved_database_url
        ):
            vouch_for(settings, masterkeys.load(path))
    typer.echo(f"created {path}; back it up apart from the database")


@app.command("rotate")
def keys_rotate() -> None:
    """Add a master key version, recorded in the database (refused, the file left as it was,
    when another copy of the key file recorded that version first), and enqueue the job that
    rewraps every citizen key and the index key under it (`vault serve` on the embedded
    default, or `vault worker`, runs it; `vault keys rewrap` does it now). No object is
    touched."""
    with operator_errors():
        settings = load_settings()
        _not_a_copy(settings)
        bootstrap.require_master_keys(settings)
        path = settings.resolved_master_key_file
        engine = db.make_engine(settings.resolved_database_url)
        # The check value is recorded before the file gets the key, and the file before the
        # record commits: the database's primary key referees two copies of the file minting
        # the same version (two nodes, a loop over hosts), and the loser writes its key nowhere.
        with db.unit_of_work(engine) as session, masterkeys.new_version(path) as (version, master):
            if not checks.claim(session, master, version):
                raise fail(
                    f"master key v{version} was already recorded by another copy of the key "
                    f"file (a rotation on another node?), so {path} was left as it was: copy "
                    "the key file from where it was rotated instead of rotating each copy"
                )
            queue.enqueue(session, queue.Task.KEYS_REWRAP)
    typer.echo(f"added master key version {version}")
    typer.echo("enqueued the rewrap of every key under it; `vault keys status` shows progress")


@app.command("rewrap")
def keys_rewrap() -> None:
    """Finish an interrupted rotation: rewrap keys still under older versions."""
    with operator_errors():
        _rewrap(load_settings())


def _rewrap(settings: Settings) -> None:
    ring = keyring(settings)
    count = rotation.rewrap_all(db.make_engine(settings.resolved_database_url), ring)
    typer.echo(f"rewrapped {count} citizen keys under version {ring.master.current_version}")


@app.command("status")
def keys_status() -> None:
    """Each master key version: present, missing or wrong, and how many citizen and index
    keys it wraps.
    Exit 1 unless every version the data needs is in the key file and opens its check value."""
    with operator_errors():
        report = bootstrap.key_report(load_settings())
    current = report.master.current_version if report.master else None
    for version in report.survey.versions:
        mark = " (current)" if version.version == current else ""
        typer.echo(f"v{version.version}{mark}: {version.state}, wraps {version.wraps}")
    problem = report.problem()
    if problem:
        typer.secho(problem, fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1)
    if report.master is None:
        typer.echo(f"no master key yet: {report.where} does not exist")


@app.command("retire")
def keys_retire(
    version: Annotated[int, typer.Option(help="The master key version to remove.")],
) -> None:
    """Remove an old master key version once no citizen, index or agency key is wrapped under
    it."""
    with operator_errors():
        settings = load_settings()
        _not_a_copy(settings)
        if version == keyring(settings).master.current_version:
            raise fail(f"version {version} is the current master key; rotate first")
        engine = db.make_engine(settings.resolved_database_url)
        with db.unit_of_work(engine) as session:
            usage = Keyring.usage(session).get(version, 0)
            index_keys = Keyring.index_key_usage(session).get(version, 0)
            agency_keys = Keyring.agency_key_usage(session).get(version, 0)
            signing = signing_keys.usage_by_version(session).get(version, 0)
            if usage or index_keys or agency_keys or signing:
                also = f" and {agency_keys} agency keys" if agency_keys else ""
                also += f" and {signing} audit signing keys" if signing else ""
                raise fail(
                    f"version {version} still wraps {usage} citizen keys and {index_keys} index "
                    f"keys{also}; run `vault keys rewrap`"
                )
            anchor_file = anchors.default_file(settings.data_dir)
            anchored = anchors.versions_named(anchor_file)[version]
            if anchored:
                raise fail(
                    f"version {version} still authenticates {anchored} lines of {anchor_file}: "
                    "retired, it would leave them unverifiable; keep it while the anchors are "
                    "kept (copies of the file elsewhere need it too)"
                )
            # Row before file: a crash in between leaves the version in the file, and the next
            # start records its check value again; the other way round would refuse to start.
            checks.forget(session, version)
        masterkeys.remove_version(settings.resolved_master_key_file, version)
    typer.echo(f"removed master key version {version}")


@app.command("init-signing")
def keys_init_signing(
    name: Annotated[
        str | None,
        typer.Option(help="The log's name (origin); default <VAULT_PUBLIC_URL host>/audit."),
    ] = None,
    replace: Annotated[
        bool, typer.Option(help="Retire the current signing key and make a new one.")
    ] = False,
) -> None:
    """Create the Ed25519 key that signs the audit checkpoints, kept wrapped under the master
    key. Prints the verifier key to publish."""
    with operator_errors():
        settings = load_settings()
        engine = db.make_engine(settings.resolved_database_url)
        ring = bootstrap.keyring(settings, engine)
        with db.unit_of_work(engine) as session:
            current = signing_keys.live(session)
            if current is not None and not replace:
                raise fail(
                    f"a signing key exists ({current.key_id}); --replace retires it for a new one"
                )
            row = ring.create_signing_key(
                session, name or checkpoints.origin_for(settings.public_url)
            )
            verifier = notes.verifier_key(row.name, row.public_key)
    typer.echo(f"created the audit signing key {row.key_id}; publish its verifier key:")
    typer.echo(verifier)
