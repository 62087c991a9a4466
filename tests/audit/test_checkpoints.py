"""Signed checkpoints and citizens' proofs: the formats hold to their specs, a proof verifies
offline (with `vault audit verify-proof` and with the README's own snippet), and a rewritten
chain, a dropped event or another key fails."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import col, select
from typer.testing import CliRunner

from tests.support import files
from tests.support.api import Account, register, register_agency, upload
from tests.support.assist import acting_headers, register_officer
from tests.support.env import settings_env
from vault import audit, db
from vault.audit import checkpoints
from vault.audit.models import AuditCheckpoint, AuditEvent
from vault.cli import app as cli
from vault.crypto import merkle, notes, statements
from vault.settings import Settings

pytestmark = pytest.mark.journey  # whole journeys: the full tier, not the edit loop

runner = CliRunner()
README = Path(__file__).resolve().parents[2] / "README.md"
B = "/api/v1"


# The formats, against their specs ------------------------------------------------------------


def _naive_root(leaves: list[bytes]) -> bytes:
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return merkle.node_hash(_naive_root(leaves[:k]), _naive_root(leaves[k:]))


def test_tree_roots_and_every_inclusion_path_match_rfc_6962() -> None:
    leaves = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(40)]
    stored: dict[tuple[int, int], bytes] = {}
    for index, leaf in enumerate(leaves):
        stored[(0, index)] = leaf
        for level, position, value in merkle.completed_by(index, leaf, lambda *k: stored[k]):
            stored[(level, position)] = value
    for size in range(1, 41):
        root = _naive_root(leaves[:size])
        assert merkle.root(size, lambda *k: stored[k]) == root
        for index in range(size):
            path = merkle.inclusion_path(index, size, lambda *k: stored[k])
            assert merkle.root_from_inclusion(index, size, leaves[index], path) == root
            if path:
                wrong = [bytes(32)] + path[1:]
                assert merkle.root_from_inclusion(index, size, leaves[index], wrong) != root
            if size < 40:  # nor into the root of a bigger tree
                bigger = _naive_root(leaves[: size + 1])
                assert merkle.root_from_inclusion(index, size + 1, leaves[index], path) != bigger
    assert merkle.root(0, lambda *k: stored[k]) == hashlib.sha256(b"").digest()


def test_a_signed_note_of_the_spec_opens_and_ours_round_trip() -> None:
    """The example of Go's sumdb/note (the reference of C2SP signed-note)."""
    verifier = notes.parse_verifier_key(
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
    )
    note = (
        "This is an example message.\n\n"
        "— example.com/foo "
        "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
    )
    assert notes.open_note(note, verifier) == "This is an example message.\n"
    with pytest.raises(notes.NoteError):
        notes.open_note(note.replace("example message", "exemplary message"), verifier)

    private = statements.new_signing_key()
    public = statements.public_key_of(private)
    key = notes.verifier_key("vault.test/audit", public)
    name, key_hash, encoded = key.split("+", 2)
    assert name == "vault.test/audit" and re.fullmatch(r"[0-9a-f]{8}", key_hash)
    assert base64.b64decode(encoded) == b"\x01" + public
    body = notes.checkpoint_text("vault.test/audit", 7, bytes(range(32)))
    signed = notes.sign(body, "vault.test/audit", private)
    assert signed.startswith(body + "\n— vault.test/audit ")
    opened = notes.parse_checkpoint(notes.open_note(signed, notes.parse_verifier_key(key)))
    assert (opened.origin, opened.size, opened.root) == ("vault.test/audit", 7, bytes(range(32)))


# The vault: keys, checkpoints, proofs ------------------------------------------------------


def _cli(settings: Settings, *args: str) -> Any:
    return runner.invoke(cli, list(args), env=settings_env(settings))


def _signing_key(settings: Settings) -> str:
    made = _cli(settings, "keys", "init-signing")
    assert made.exit_code == 0, made.output
    return str(made.output.strip().splitlines()[-1])


def _checkpoint(settings: Settings) -> None:
    signed = _cli(settings, "audit", "checkpoint")
    assert signed.exit_code == 0, signed.output


def _events(app: FastAPI, chain: str) -> list[AuditEvent]:
    with db.unit_of_work(app.state.engine, writes=False) as session:
        query = select(AuditEvent).where(AuditEvent.chain == chain)
        return list(session.exec(query.order_by(col(AuditEvent.seq))).all())


@pytest.fixture
def citizen(client: TestClient) -> Account:
    account = register(client)
    upload(client, account, ("giay-khai-sinh.pdf", files.pdf()))
    upload(client, account, ("cccd.png", files.png()), doc_type="CCCD")
    return account


@pytest.fixture
def verifier_key(app: FastAPI, settings: Settings) -> str:
    """Made once the vault was prepared, as `vault serve` prepares it: before, the master key
    has no check value in the database to vouch for it, and nothing is wrapped under it."""
    return _signing_key(settings)


def _proof(client: TestClient, citizen: Account) -> dict[str, Any]:
    answer = client.get(f"{B}/citizens/me/audit-proof", headers=citizen.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def _verify(settings: Settings, tmp_path: Path, proof: dict[str, Any], key: str) -> Any:
    path = tmp_path / f"proof-{len(list(tmp_path.glob('proof-*')))}.json"
    path.write_text(json.dumps(proof, ensure_ascii=False), encoding="utf-8")
    return _cli(settings, "audit", "verify-proof", str(path), "--public-key", key)


def test_the_public_key_and_the_latest_checkpoint_need_no_token(
    client: TestClient, settings: Settings, citizen: Account
) -> None:
    assert client.get(f"{B}/audit/public-key").status_code == 404
    assert client.get(f"{B}/audit/checkpoints/latest").status_code == 404
    key = _signing_key(settings)
    assert key.startswith("localhost:8000/audit+")
    published = client.get(f"{B}/audit/public-key")
    assert published.status_code == 200
    assert published.json() == {"verifier_key": key, "algorithm": "Ed25519"}
    printed = _cli(settings, "audit", "public-key")
    assert printed.exit_code == 0 and printed.output.strip() == key

    _checkpoint(settings)
    latest = client.get(f"{B}/audit/checkpoints/latest")
    assert latest.status_code == 200
    assert latest.headers["content-type"].startswith("text/plain")
    text = notes.open_note(latest.text, notes.parse_verifier_key(key))
    checkpoint = notes.parse_checkpoint(text)
    assert checkpoint.origin == "localhost:8000/audit"
    with db.unit_of_work(client.app.state.engine, writes=False) as session:  # type: ignore[attr-defined]
        assert checkpoint.size == session.exec(select(AuditEvent)).all().__len__()
        row = checkpoints.latest(session)
        assert row is not None and row.root_hash == checkpoint.root and row.object_key
    assert _cli(settings, "audit", "checkpoint").output.startswith("no new event")


def test_a_proof_holds_offline_and_reading_it_is_not_an_event(
    client: TestClient,
    app: FastAPI,
    settings: Settings,
    citizen: Account,
    verifier_key: str,
    tmp_path: Path,
) -> None:
    answer = client.get(f"{B}/citizens/me/audit-proof", headers=citizen.headers)
    assert answer.status_code == 409
    assert answer.json()["type"] == "/problems/not-covered"
    assert "within the hour" in answer.json()["detail"]

    _checkpoint(settings)
    before = _events(app, citizen.id)
    proof = _proof(client, citizen)
    client.get(f"{B}/audit/checkpoints/latest")
    client.get(f"{B}/audit/public-key")
    assert _proof(client, citizen) == proof
    assert len(_events(app, citizen.id)) == len(before)

    assert [event["hash"] for event in proof["events"]] == [e.entry_hash for e in before]
    assert proof["events"][-1]["action"] == "document.upload"
    latest = before[-1]
    assert proof["leaf_index"] == latest.leaf_index
    assert (
        proof["leaf_hash"] == hashlib.sha256(b"\0" + bytes.fromhex(latest.entry_hash)).hexdigest()
    )
    result = _verify(settings, tmp_path, proof, verifier_key)
    assert result.exit_code == 0, result.output

    # Later events are covered by the next checkpoint; the earlier proof still holds.
    upload(client, citizen, ("ho-khau.pdf", files.pdf()), doc_type="CCCD")
    assert _proof(client, citizen) == proof
    _checkpoint(settings)
    newer = _proof(client, citizen)
    assert (
        len(newer["events"]) == len(proof["events"]) + 1 and newer["tree_size"] > proof["tree_size"]
    )
    assert _verify(settings, tmp_path, newer, verifier_key).exit_code == 0
    assert _verify(settings, tmp_path, proof, verifier_key).exit_code == 0


def _rewrite_chain(app: FastAPI, chain: str) -> None:
    """What someone who can write the table does: change a link and recompute every hash."""
    with db.unit_of_work(app.state.engine) as session:
        rows = session.exec(
            select(AuditEvent).where(AuditEvent.chain == chain).order_by(col(AuditEvent.seq))
        ).all()
        rows[0].actor_id = "someone else"
        previous = audit.GENESIS
        for row in rows:
            row.prev_hash = previous
            row.entry_hash = previous = audit.entry_hash(row)
            session.add(row)


def _resigned(proof: dict[str, Any]) -> dict[str, Any]:
    """The same checkpoint, signed by another key under the same name."""
    text = proof["checkpoint"].split("\n\n")[0] + "\n"
    forged = copy.deepcopy(proof)
    forged["checkpoint"] = notes.sign(text, text.split("\n")[0], statements.new_signing_key())
    return forged


def _tampered(proof: dict[str, Any]) -> dict[str, dict[str, Any]]:
    dropped = copy.deepcopy(proof)
    del dropped["events"][1]
    edited = copy.deepcopy(proof)
    edited["events"][0]["details"] = {"doc_type": "CCCD"}
    recomputed = copy.deepcopy(proof)
    recomputed["events"][0]["actor_id"] = "someone else"
    previous = "0" * 64
    from vault.audit.log import hash_of

    for event in recomputed["events"]:
        event["prev_hash"] = previous
        event["hash"] = previous = hash_of(event)
    recomputed["leaf_hash"] = hashlib.sha256(b"\0" + bytes.fromhex(previous)).hexdigest()
    other_leaf = copy.deepcopy(proof)
    other_leaf["leaf_index"] = (proof["leaf_index"] + 1) % proof["tree_size"]
    head_dropped = copy.deepcopy(proof)
    head_dropped["events"] = head_dropped["events"][:-1]
    return {
        "dropped-event": dropped,
        "dropped-latest-event": head_dropped,
        "edited-event": edited,
        "rewritten-chain": recomputed,
        "wrong-leaf-index": other_leaf,
        "another-key": _resigned(proof),
    }


def test_tampered_proofs_fail(
    client: TestClient,
    settings: Settings,
    citizen: Account,
    verifier_key: str,
    tmp_path: Path,
) -> None:
    _checkpoint(settings)
    proof = _proof(client, citizen)
    for case, forged in _tampered(proof).items():
        result = _verify(settings, tmp_path, forged, verifier_key)
        assert result.exit_code == 1, (case, result.output)
        assert "FAILED" in result.output, case
    other = notes.verifier_key(
        "localhost:8000/audit", statements.public_key_of(statements.new_signing_key())
    )
    assert _verify(settings, tmp_path, proof, other).exit_code == 1


def test_a_chain_rewritten_in_the_database_no_longer_reaches_the_signed_root(
    client: TestClient,
    app: FastAPI,
    settings: Settings,
    citizen: Account,
    verifier_key: str,
    tmp_path: Path,
) -> None:
    _checkpoint(settings)
    _rewrite_chain(app, citizen.id)
    assert _cli(settings, "audit", "verify").exit_code == 0  # the chain alone cannot tell
    result = _verify(settings, tmp_path, _proof(client, citizen), verifier_key)
    assert result.exit_code == 1 and "root" in result.output


def test_an_event_deleted_from_the_database_breaks_the_proof(
    client: TestClient,
    app: FastAPI,
    settings: Settings,
    citizen: Account,
    verifier_key: str,
    tmp_path: Path,
) -> None:
    _checkpoint(settings)
    with app.state.engine.begin() as connection:
        connection.execute(
            text("DELETE FROM audit_event WHERE chain = :chain AND seq = 1"), {"chain": citizen.id}
        )
    result = _verify(settings, tmp_path, _proof(client, citizen), verifier_key)
    assert result.exit_code == 1 and "missing" in result.output


@pytest.mark.usefixtures("verifier_key")
def test_the_signed_tree_never_shrinks_when_rows_are_deleted(
    client: TestClient, app: FastAPI, settings: Settings, citizen: Account
) -> None:
    """An event row deleted leaves its leaf: the next checkpoint is not a smaller tree (a
    rollback signed with the operator's key), and new events go on from the end. A leaf of
    the tree itself deleted is damage the sequencer and the signer refuse to paper over."""
    _checkpoint(settings)
    with db.unit_of_work(app.state.engine, writes=False) as session:
        signed = checkpoints.latest(session)
        assert signed is not None
    with app.state.engine.begin() as connection:
        connection.execute(
            text(
                "DELETE FROM audit_event WHERE leaf_index = "
                "(SELECT max(leaf_index) FROM audit_event)"
            )
        )
    _checkpoint(settings)
    upload(client, citizen, ("sau.pdf", files.pdf()))
    _checkpoint(settings)
    with db.unit_of_work(app.state.engine, writes=False) as session:
        sizes = list(session.exec(select(AuditCheckpoint.tree_size)).all())
    assert sorted(sizes) == sizes and sizes[0] == signed.tree_size
    assert sizes[-1] > signed.tree_size

    with app.state.engine.begin() as connection:
        connection.execute(
            text(
                "DELETE FROM audit_node WHERE level = 0 AND position = "
                "(SELECT max(position) FROM audit_node WHERE level = 0)"
            )
        )
    upload(client, citizen, ("nua.pdf", files.pdf()))
    refused = _cli(settings, "audit", "checkpoint")
    assert refused.exit_code == 2
    assert "fewer than" in refused.output and "already signed" in refused.output


def test_a_tail_cut_or_rewritten_is_caught_against_the_proof_kept_from_before(
    client: TestClient,
    app: FastAPI,
    settings: Settings,
    citizen: Account,
    verifier_key: str,
    tmp_path: Path,
) -> None:
    """One proof shows the chain up to the latest event its checkpoint covers; the events cut
    off its end, or rewritten there and sequenced again, show against the proof kept before."""

    def verified(proof: dict[str, Any], earlier: dict[str, Any]) -> Any:
        kept = tmp_path / f"kept-{len(list(tmp_path.glob('kept-*')))}.json"
        kept.write_text(json.dumps(earlier, ensure_ascii=False), encoding="utf-8")
        path = tmp_path / f"new-{len(list(tmp_path.glob('new-*')))}.json"
        path.write_text(json.dumps(proof, ensure_ascii=False), encoding="utf-8")
        return _cli(
            settings,
            "audit",
            "verify-proof",
            str(path),
            "--public-key",
            verifier_key,
            "--previous",
            str(kept),
        )

    _checkpoint(settings)
    first = _proof(client, citizen)
    upload(client, citizen, ("them.pdf", files.pdf()))
    _checkpoint(settings)
    kept = _proof(client, citizen)
    grown = verified(kept, first)
    assert grown.exit_code == 0, grown.output
    assert f"chain {citizen.id}" in grown.output and "every event of the earlier" in grown.output

    last = kept["events"][-1]
    with db.unit_of_work(app.state.engine) as session:
        row = session.exec(
            select(AuditEvent).where(AuditEvent.chain == citizen.id, AuditEvent.seq == last["seq"])
        ).one()
        row.actor_id, row.leaf_index = "someone else", None
        row.entry_hash = audit.entry_hash(row)
        session.add(row)
    _checkpoint(settings)
    rewritten = _proof(client, citizen)
    assert _verify(settings, tmp_path, rewritten, verifier_key).exit_code == 0  # alone: holds
    caught = verified(rewritten, kept)
    assert caught.exit_code == 1 and f"seq {last['seq']} is not the one" in caught.output

    with app.state.engine.begin() as connection:
        connection.execute(
            text("DELETE FROM audit_event WHERE chain = :chain AND seq = :seq"),
            {"chain": citizen.id, "seq": last["seq"]},
        )
    cut = _proof(client, citizen)
    assert _verify(settings, tmp_path, cut, verifier_key).exit_code == 0  # alone: holds
    caught = verified(cut, kept)
    assert caught.exit_code == 1 and "gone from this one" in caught.output


def test_a_checkpoint_signed_by_a_replaced_key_fails_with_the_new_one(
    client: TestClient, settings: Settings, citizen: Account, verifier_key: str, tmp_path: Path
) -> None:
    _checkpoint(settings)
    proof = _proof(client, citizen)
    replaced = _cli(settings, "keys", "init-signing")
    assert replaced.exit_code == 2 and "--replace" in replaced.output
    new = _cli(settings, "keys", "init-signing", "--replace")
    assert new.exit_code == 0, new.output
    new_key = new.output.strip().splitlines()[-1]
    assert new_key != verifier_key
    assert _verify(settings, tmp_path, proof, new_key).exit_code == 1
    assert _verify(settings, tmp_path, proof, verifier_key).exit_code == 0
    _checkpoint(settings)  # the same tree, signed again by the new key
    assert _verify(settings, tmp_path, _proof(client, citizen), new_key).exit_code == 0


def test_someone_acting_for_the_citizen_gets_no_proof(
    client: TestClient, settings: Settings, citizen: Account, verifier_key: str
) -> None:
    agency = register_agency(client, "UBND-HAICHAU")
    officer = register_officer(client, agency.code)
    headers = acting_headers(client, officer, citizen)
    _checkpoint(settings)
    answer = client.get(f"{B}/citizens/me/audit-proof", headers=headers)
    assert answer.status_code == 403 and answer.json()["type"] == "/problems/not-while-acting"


# The README's snippet, run as a citizen would -----------------------------------------------


def readme_snippet() -> str:
    text = README.read_text(encoding="utf-8")
    found = re.search(r"<!-- snippet: verify-proof -->\n```python\n(.*?)```", text, re.S)
    assert found, "the README lost its verify-proof snippet"
    return found.group(1)


def test_the_readme_snippet_verifies_a_real_proof_and_refuses_tampered_ones(
    client: TestClient, settings: Settings, citizen: Account, verifier_key: str, tmp_path: Path
) -> None:
    script = tmp_path / "verify_proof.py"
    script.write_text(readme_snippet(), encoding="utf-8")
    imports = {line for line in readme_snippet().splitlines() if "import" in line}
    assert all("vault" not in line for line in imports)
    _checkpoint(settings)
    proof = _proof(client, citizen)

    def run(document: dict[str, Any], key: str = verifier_key) -> subprocess.CompletedProcess[str]:
        path = tmp_path / "proof.json"
        path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
        # -I: isolated, so nothing of this checkout (the vault) is importable by the snippet.
        return subprocess.run(
            [sys.executable, "-I", str(script), str(path), key],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )

    ok = run(proof)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith(f"OK: {len(proof['events'])} events")
    for case, forged in _tampered(proof).items():
        assert run(forged).returncode != 0, case
    other = notes.verifier_key(
        "localhost:8000/audit", statements.public_key_of(statements.new_signing_key())
    )
    assert run(proof, other).returncode != 0


# The hourly job, on both queues -------------------------------------------------------------


def test_run_due_signs_a_checkpoint_every_hour(
    client: TestClient, settings: Settings, citizen: Account, verifier_key: str
) -> None:
    at = datetime(2031, 5, 4, 9, 30, tzinfo=UTC).isoformat()
    ran = _cli(settings, "jobs", "run-due", "--at", at)
    assert ran.exit_code == 0, ran.output
    assert "enqueued audit_checkpoint for 2031-05-04T16" in ran.output
    latest = client.get(f"{B}/audit/checkpoints/latest")
    assert latest.status_code == 200
    assert notes.open_note(latest.text, notes.parse_verifier_key(verifier_key))
    assert _proof(client, citizen)["events"]
    with db.unit_of_work(client.app.state.engine, writes=False) as session:  # type: ignore[attr-defined]
        assert len(session.exec(select(AuditCheckpoint)).all()) == 1
    again = _cli(settings, "jobs", "run-due", "--at", at)
    assert "audit_checkpoint" not in again.output


def test_the_signing_key_follows_a_master_key_rotation(
    client: TestClient, settings: Settings, citizen: Account, verifier_key: str, tmp_path: Path
) -> None:
    assert _cli(settings, "keys", "rotate").exit_code == 0
    refused = _cli(settings, "keys", "retire", "--version", "1")
    assert refused.exit_code == 2 and "1 audit signing keys" in refused.output
    assert _cli(settings, "keys", "rewrap").exit_code == 0
    retired = _cli(settings, "keys", "retire", "--version", "1")
    assert retired.exit_code == 0, retired.output
    _checkpoint(settings)  # signed with the key unwrapped under version 2
    assert _verify(settings, tmp_path, _proof(client, citizen), verifier_key).exit_code == 0
