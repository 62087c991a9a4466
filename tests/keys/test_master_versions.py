"""A master key version wraps nothing until the database vouches for it: its check value is
recorded once, by whoever records it first, and every copy of the key file is held to it. Two
nodes each with a copy of the file (an Ansible loop, say) cannot each mint a "v2" and wrap
their citizens under their own."""

import shutil
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select
from typer.testing import CliRunner

from tests.support.api import PASSWORD, new_national_id, register
from tests.support.env import settings_env
from vault import bootstrap
from vault.cli import app as cli
from vault.crypto import MasterKeyError, masterkeys
from vault.keys import Keyring, checks, rotation
from vault.keys.models import CitizenKey
from vault.settings import Settings

runner = CliRunner()


def _join(client: TestClient) -> int:
    body = {"national_id": new_national_id(), "full_name": "Trần Thị Bình", "password": PASSWORD}
    return client.post("/api/v1/citizens", json=body).status_code


def test_two_copies_of_the_key_file_rotated_at_once_make_one_version(
    app: FastAPI,
    client: TestClient,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each node's rotation passes the check that its file holds what the database needs before
    either records its v2 (run one after the other, the second is refused by that check)."""
    register(client)
    env = settings_env(settings)
    here = settings.resolved_master_key_file
    there = tmp_path / "other-node.key"
    shutil.copy(here, there)
    guard = bootstrap.require_master_keys

    def other_node_rotates_meanwhile(checked: Settings) -> bootstrap.KeyReport:
        report = guard(checked)
        monkeypatch.setattr(bootstrap, "require_master_keys", guard)
        other = {**env, "VAULT_MASTER_KEY_FILE": str(there)}
        rotated = runner.invoke(cli, ["keys", "rotate"], env=other)
        assert rotated.exit_code == 0, rotated.output
        return report

    monkeypatch.setattr(bootstrap, "require_master_keys", other_node_rotates_meanwhile)
    before = here.read_bytes()
    refused = runner.invoke(cli, ["keys", "rotate"], env=env)
    assert refused.exit_code == 2, refused.output
    assert "master key v2 was already recorded by another copy of the key file" in refused.output
    assert here.read_bytes() == before

    # The copy the database vouches for is the one to spread: with it the job rewraps, and a
    # citizen who joins is wrapped under its v2.
    shutil.copy(there, here)
    assert runner.invoke(cli, ["worker", "--burst"], env=env).exit_code == 0
    register(client)
    status = runner.invoke(cli, ["keys", "status"], env=env)
    assert status.exit_code == 0, status.output
    assert "v2 (current): present, wraps 2 citizen keys" in status.output


def test_a_version_another_copy_recorded_first_wraps_nothing_here(
    app: FastAPI, client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    """Each copy got its own v2 without a record (by hand, or by an older release's rotate),
    and each node's worker runs the rewrap job. The first run records its v2; the other node's
    job, key ring, readiness probe and new citizens then all refuse theirs."""
    engine = app.state.engine
    for _ in range(3):
        register(client)
    here = settings.resolved_master_key_file
    there = tmp_path / "other-node.key"
    shutil.copy(here, there)
    ring_there, ring_here = Keyring(there, engine=engine), app.state.backend.keyring
    masterkeys.add_version(there)
    masterkeys.add_version(here)
    stale_here = Keyring(here, engine=engine)  # loaded before the other node recorded its v2

    ring_there.reload()
    assert rotation.rewrap_all(engine, ring_there) == 3

    with pytest.raises(MasterKeyError, match="does not open the check value"):
        ring_here.reload()  # the rewrap job's first step
    with pytest.raises(MasterKeyError, match="v2 is wrong"):
        rotation.rewrap_all(engine, stale_here)
    with pytest.raises(MasterKeyError, match="does not open the check value"):
        ring_here.check()
    assert client.get("/readyz").status_code == 503
    assert _join(client) == 503
    with Session(engine) as session:
        with pytest.raises(MasterKeyError, match="v2 of the key file does not open"):
            checks.record(session, masterkeys.load(here))
        rows = session.exec(select(CitizenKey)).all()
    opened_there = masterkeys.load(there)
    assert [row.master_version for row in rows] == [2, 2, 2]
    for row in rows:
        checks.unwrap_citizen_key(opened_there, row)


def test_a_version_nobody_recorded_wraps_nothing_until_the_rewrap_records_it(
    app: FastAPI, client: TestClient, settings: Settings
) -> None:
    register(client)
    masterkeys.add_version(settings.resolved_master_key_file)
    assert _join(client) == 503
    with Session(app.state.engine) as session:
        assert Keyring.usage(session) == {1: 1}

    rewrapped = runner.invoke(cli, ["keys", "rewrap"], env=settings_env(settings))
    assert "rewrapped 1 citizen keys under version 2" in rewrapped.output
    assert _join(client) == 201
    with Session(app.state.engine) as session:
        assert Keyring.usage(session) == {2: 2}
