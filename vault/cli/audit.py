"""`vault audit …`: verifying, anchoring and checkpointing the audit chains, and checking a
citizen's proof offline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from vault import audit, bootstrap, db
from vault.audit import anchors as anchor_log
from vault.audit import checkpoints, proofs
from vault.cli.common import fail, keyring, load_settings, operator_errors, unit_of_work

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
    target = file or anchor_log.default_file(settings.data_dir)
    with operator_errors():
        anchor_log.append(target, anchor)
    typer.echo(f"anchored {len(anchor['heads'])} chains in {target}")


@app.command("checkpoint")
def audit_checkpoint() -> None:
    """Put every new event into the Merkle tree and sign a checkpoint of it now (the hourly
    job does the same), kept in the database and written to the object store."""
    with operator_errors():
        settings = load_settings()
        checkpoint, new = checkpoints.take(
            db.make_engine(settings.resolved_database_url),
            bootstrap.build_store(settings),
            keyring(settings).master,
        )
    if not new:
        typer.echo(f"no new event since the last checkpoint ({checkpoint.tree_size} events)")
        return
    locked = " (object lock)" if checkpoint.object_locked else ""
    typer.echo(f"signed a checkpoint of {checkpoint.tree_size} events{locked}")
    typer.echo(checkpoint.note, nl=False)


@app.command("public-key")
def audit_public_key() -> None:
    """The verifier key of the checkpoints (a C2SP signed-note verifier key), to publish."""
    with unit_of_work(writes=False) as session:
        key = checkpoints.verifier_key(session)
    typer.echo(key)


@app.command("verify-proof")
def audit_verify_proof(
    file: Annotated[
        Path, typer.Argument(help="A proof from GET /citizens/me/audit-proof, or audit.json.")
    ],
    public_key: Annotated[
        str,
        typer.Option(help="The verifier key (`vault audit public-key`), or a file holding it."),
    ],
    previous: Annotated[
        Path | None,
        typer.Option(
            help="A proof of the same chain kept from before: its events must all be here, "
            "unchanged (one proof alone cannot show events cut off its end)."
        ),
    ] = None,
) -> None:
    """Check a citizen's audit proof offline: the checkpoint's signature, the chain, the leaf
    and its inclusion path, and with --previous that nothing the earlier proof held was dropped
    or changed. Exit 0 if it holds, 1 if not."""
    with operator_errors():
        key_file = Path(public_key)
        if "+" not in public_key and key_file.is_file():
            public_key = key_file.read_text(encoding="utf-8").strip()
        document = _json_file(file)
        earlier = _json_file(previous) if previous is not None else None
    found = proofs.problems(document, public_key)
    if earlier is not None:
        found += proofs.later_problems(earlier, document)
    for problem in found:
        typer.secho(f"FAILED: {problem}", fg=typer.colors.RED)
    if found:
        raise typer.Exit(code=1)
    proof = proofs.proof_of(document)
    typer.echo(
        f"the proof holds: chain {proof['events'][0]['chain']}, {len(proof['events'])} events, "
        f"leaf {proof['leaf_index']} of a checkpoint of {proof['tree_size']}"
        + (", and every event of the earlier proof" if earlier is not None else "")
    )


def _json_file(path: Path) -> dict[str, Any]:
    try:
        found: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        raise fail(f"{path} is not JSON") from None
    return found
