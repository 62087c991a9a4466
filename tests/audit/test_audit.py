"""The audit log: every chain verifies, any tampering is named, concurrent appends never fork."""

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import col, select
from typer.testing import CliRunner

from tests.support import files
from tests.support.api import PASSWORD, register, register_agency, share, upload
from tests.support.env import settings_env
from vault import audit, db
from vault.audit.models import AuditEvent
from vault.cli import app as cli
from vault.settings import Settings

runner = CliRunner()


@pytest.fixture
def activity(client: TestClient) -> dict:
    citizen = register(client)
    agency = register_agency(client, "UBND-HAICHAU")
    paper = upload(client, citizen, ("a.pdf", files.pdf())).json()
    grant = share(client, citizen, agency.code, paper["id"]).json()
    client.get(
        f"/api/v1/shared/{grant['token']}/documents/{paper['id']}/content", headers=agency.headers
    )
    client.delete(f"/api/v1/grants/{grant['id']}", headers=citizen.headers)
    client.get(f"/api/v1/shared/{grant['token']}", headers=agency.headers)
    client.post(
        "/api/v1/auth/token", data={"username": citizen.national_id, "password": "wrong guess"}
    )
    return {"citizen": citizen, "grant": grant, "paper": paper}


def _verify(settings: Settings):
    return runner.invoke(cli, ["audit", "verify"], env=settings_env(settings))


def test_every_kind_of_event_is_recorded_and_verifies(
    app: FastAPI, activity: dict, settings: Settings
) -> None:
    with db.unit_of_work(app.state.engine, writes=False) as session:
        events = audit.chain_of(
            session,
            uuid.UUID(activity["citizen"].id),
            (
                "document.upload",
                "grant.create",
                "share.download",
                "grant.revoke",
                "share.open",
                "auth.login_failed",
            ),
        )
    assert [(e.action, e.outcome, e.reason) for e in reversed(events)] == [
        ("document.upload", "success", None),
        ("grant.create", "success", None),
        ("share.download", "success", None),
        ("grant.revoke", "success", None),
        ("share.open", "denied", "revoked"),
        ("auth.login_failed", "denied", None),
    ]
    result = _verify(settings)
    assert result.exit_code == 0, result.output
    assert "BROKEN" not in result.output and "checked" in result.output


def test_nothing_secret_is_in_the_audit_log(app: FastAPI, activity: dict) -> None:
    with app.state.engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM audit_event")).all()
    dump = "\n".join(str(tuple(row)) for row in rows)
    for secret in (activity["grant"]["token"], PASSWORD, files.MARKER.decode(), "wrong guess"):
        assert secret not in dump


@pytest.mark.parametrize(
    ("tamper", "problem"),
    [
        (
            "UPDATE audit_event SET details = '{}' WHERE seq = 2 AND chain = :chain",
            "changed",
        ),
        ("UPDATE audit_event SET outcome = 'denied' WHERE seq = 3 AND chain = :chain", "changed"),
        ("DELETE FROM audit_event WHERE seq = 2 AND chain = :chain", "missing"),
        (
            "UPDATE audit_event SET prev_hash = entry_hash WHERE seq = 4 AND chain = :chain",
            "does not follow",
        ),
    ],
    ids=["details", "outcome", "deleted-row", "relinked"],
)
def test_tampering_is_named_by_chain_and_link(
    app: FastAPI, activity: dict, settings: Settings, tamper: str, problem: str
) -> None:
    chain = activity["citizen"].id
    with app.state.engine.begin() as connection:
        connection.execute(text(tamper), {"chain": chain})
    result = _verify(settings)
    assert result.exit_code == 1
    assert f"BROKEN chain {chain} at link" in result.output and problem in result.output


def test_concurrent_appends_never_fork_a_chain(app: FastAPI, settings: Settings) -> None:
    subject = uuid.uuid4()

    def append(i: int) -> None:
        with db.unit_of_work(app.state.engine) as session:
            audit.append(
                session,
                audit.Event("test.event", subject=subject, actor_type="system", details={"i": i}),
            )

    with ThreadPoolExecutor(max_workers=12) as pool:
        list(pool.map(append, range(60)))
    with db.unit_of_work(app.state.engine, writes=False) as session:
        events = audit.chain_of(session, subject, ("test.event",))
    assert sorted(e.seq for e in events) == list(range(1, 61))
    assert sorted(e.details for e in events) == sorted(f'{{"i":{i}}}' for i in range(60))
    assert _verify(settings).exit_code == 0


def _rewrite_whole_chain(app: FastAPI, chain: str) -> None:
    """What someone who can rewrite the table does: change a link, then recompute every hash
    after it, so that the chain verifies again on its own."""
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


def test_anchors_detect_a_chain_rewritten_with_its_hashes_recomputed(
    app: FastAPI, activity: dict, settings: Settings, tmp_path: Path
) -> None:
    anchors = tmp_path / "anchors.jsonl"
    env = settings_env(settings)
    taken = runner.invoke(cli, ["audit", "anchor", "--file", str(anchors)], env=env)
    assert taken.exit_code == 0, taken.output
    assert (
        runner.invoke(cli, ["audit", "verify", "--anchors", str(anchors)], env=env).exit_code == 0
    )

    chain = activity["citizen"].id
    _rewrite_whole_chain(app, chain)

    assert _verify(settings).exit_code == 0  # the chain alone cannot tell
    anchored = runner.invoke(cli, ["audit", "verify", "--anchors", str(anchors)], env=env)
    assert anchored.exit_code == 1
    assert f"BROKEN chain {chain} at link" in anchored.output and "rewritten" in anchored.output


def test_a_forged_anchor_is_not_authentic(
    app: FastAPI, activity: dict, settings: Settings, tmp_path: Path
) -> None:
    env = settings_env(settings)
    printed = runner.invoke(cli, ["audit", "anchor", "--file", "-"], env=env)
    anchor = json.loads(printed.output)
    chain = activity["citizen"].id
    _rewrite_whole_chain(app, chain)
    with db.unit_of_work(app.state.engine, writes=False) as session:
        head = session.exec(
            select(AuditEvent).where(AuditEvent.chain == chain).order_by(col(AuditEvent.seq).desc())
        ).first()
    assert head is not None
    anchor["heads"][chain] = [head.seq, head.entry_hash]  # made to match the rewritten chain
    forged = tmp_path / "forged.jsonl"
    forged.write_text(json.dumps(anchor) + "\n")
    result = runner.invoke(cli, ["audit", "verify", "--anchors", str(forged)], env=env)
    assert result.exit_code == 1 and "not authentic" in result.output
