"""Losing the master key fails closed: nothing starts, nothing is made or replaced, and putting
the right file back makes every paper readable again."""

import os
from pathlib import Path

import pytest
from alembic import command
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from tests.conftest import Stack
from tests.support import files
from tests.support.api import PASSWORD, new_national_id, register, upload
from tests.support.env import settings_env
from vault import bootstrap, db
from vault.app import create_app
from vault.cli import app as cli
from vault.crypto import MasterKeyError, masterkeys
from vault.keys.models import CitizenKey, MasterKeyCheck
from vault.settings import Settings

pytestmark = pytest.mark.journey  # whole journeys: the full tier, not the edit loop

runner = CliRunner()
ADVICE = "Put the right key file back from its backup; no key was created or replaced"


def _download(settings: Settings, path: str, headers: dict[str, str]) -> bytes:
    """Through a newly started app, as after a restart."""
    bootstrap.prepare(settings)
    restarted = create_app(settings)
    with TestClient(restarted) as fresh:
        response = fresh.get(path, headers=headers)
    restarted.state.engine.dispose()
    assert response.status_code == 200, response.text
    return response.content


def test_a_moved_key_file_stops_the_start_and_putting_it_back_reads_every_paper(
    app: FastAPI, client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    citizen = register(client)
    paper = files.pdf()
    stored = upload(client, citizen, ("a.pdf", paper)).json()
    key_file = settings.resolved_master_key_file
    backup = key_file.rename(tmp_path / "backup.key")

    refused = runner.invoke(cli, ["serve"], env=settings_env(settings))
    assert refused.exit_code == 2
    assert refused.output == (
        f"vault: master key v1 is missing: VAULT_MASTER_KEY_FILE={key_file} does not exist, "
        f"but the database needs it (v1 wraps 1 citizen keys and 1 index keys). {ADVICE}\n"
    )
    assert not key_file.exists()
    with pytest.raises(MasterKeyError, match="master key v1 is missing"):
        create_app(settings)

    backup.rename(key_file)
    path = f"/api/v1/documents/{stored['id']}/content"
    assert _download(settings, path, citizen.headers) == paper


def test_another_key_file_is_wrong_and_is_neither_used_nor_replaced(
    app: FastAPI, client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    citizen = register(client)
    paper = files.pdf()
    stored = upload(client, citizen, ("a.pdf", paper)).json()
    key_file = settings.resolved_master_key_file
    backup = key_file.rename(tmp_path / "backup.key")
    masterkeys.create(key_file)
    stranger = key_file.read_bytes()
    env = settings_env(settings)

    refused = runner.invoke(cli, ["serve"], env=env)
    assert refused.exit_code == 2 and refused.output.count("\n") == 1
    assert refused.output.startswith(
        f"vault: master key v1 is wrong: the v1 in VAULT_MASTER_KEY_FILE={key_file} does not "
        "open the check value the database keeps"
    )
    assert "(v1 wraps 1 citizen keys and 1 index keys)" in refused.output
    status = runner.invoke(cli, ["keys", "status"], env=env)
    assert status.exit_code == 1
    assert status.output.startswith("v1 (current): wrong, wraps 1 citizen keys and 1 index keys\n")
    rotated = runner.invoke(cli, ["keys", "rotate"], env=env)
    assert rotated.exit_code == 2 and "master key v1 is wrong" in rotated.output
    assert key_file.read_bytes() == stranger
    with Session(app.state.engine) as session:
        assert session.exec(select(CitizenKey.master_version)).all() == [1]

    os.replace(backup, key_file)
    status = runner.invoke(cli, ["keys", "status"], env=env)
    assert (
        status.exit_code == 0
        and status.output == "v1 (current): present, wraps 1 citizen keys and 1 index keys\n"
    )
    path = f"/api/v1/documents/{stored['id']}/content"
    assert _download(settings, path, citizen.headers) == paper


def test_every_command_that_needs_the_key_refuses_in_one_line_naming_it(
    app: FastAPI, client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    register(client)
    key_file = settings.resolved_master_key_file
    backup = key_file.rename(tmp_path / "backup.key")
    anchors = tmp_path / "anchors.jsonl"
    anchors.write_text("")
    env = settings_env(settings)
    commands = [
        ["serve"],
        ["keys", "rotate"],
        ["keys", "rewrap"],
        ["keys", "retire", "--version", "1"],
        ["audit", "anchor", "--file", "-"],
        ["audit", "verify", "--anchors", str(anchors)],
    ]
    for command_line in commands:
        result = runner.invoke(cli, command_line, env=env)
        assert result.exit_code == 2, (command_line, result.output)
        assert result.output.count("\n") == 1, (command_line, result.output)
        assert result.output.startswith(
            f"vault: master key v1 is missing: VAULT_MASTER_KEY_FILE={key_file} does not exist"
        ), command_line
        assert not key_file.exists(), command_line

    key_file.mkdir()
    unreadable = runner.invoke(cli, ["keys", "rotate"], env=env)
    assert unreadable.exit_code == 2 and unreadable.output.count("\n") == 1
    assert (
        f"master key v1 is missing: VAULT_MASTER_KEY_FILE={key_file} cannot be used "
        f"(master key file {key_file} cannot be read: IsADirectoryError)" in unreadable.output
    )
    key_file.rmdir()
    key_file.write_bytes(b"v1 C\xf4ng an\n")
    status = runner.invoke(cli, ["keys", "status"], env=env)
    assert status.exit_code == 1
    assert status.output.startswith("v1: missing, wraps 1 citizen keys and 1 index keys\n")
    assert "UnicodeDecodeError" in status.output

    key_file.unlink()
    backup.rename(key_file)
    assert runner.invoke(cli, ["keys", "status"], env=env).exit_code == 0


def test_keys_init_makes_no_key_while_the_database_needs_the_lost_one(
    app: FastAPI, client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    register(client)
    key_file = settings.resolved_master_key_file
    key_file.rename(tmp_path / "backup.key")
    env = settings_env(settings)

    made = runner.invoke(cli, ["keys", "init"], env=env)
    assert made.exit_code == 2
    assert made.output == (
        f"vault: refusing to create VAULT_MASTER_KEY_FILE={key_file}: the database needs the "
        "master key it was wrapped under (v1 wraps 1 citizen keys and 1 index keys), which a new key cannot "
        "open; put the key file back from its backup\n"
    )
    assert not key_file.exists()
    status = runner.invoke(cli, ["keys", "status"], env=env)
    assert status.exit_code == 1 and status.output.startswith(
        "v1: missing, wraps 1 citizen keys and 1 index keys\n"
    )
    elsewhere = tmp_path / "another-deployment.key"
    made = runner.invoke(cli, ["keys", "init", "--file", str(elsewhere)], env=env)
    assert made.exit_code == 0 and elsewhere.exists() and not key_file.exists()


def test_only_the_first_start_of_an_empty_vault_makes_a_key(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")  # type: ignore[call-arg]
    key_file = settings.resolved_master_key_file
    bootstrap.prepare(settings)
    first = key_file.read_bytes()
    bootstrap.prepare(settings)
    assert key_file.read_bytes() == first

    key_file.unlink()  # before any citizen joined: the check value alone is wrapped under it
    with pytest.raises(MasterKeyError) as refused:
        bootstrap.prepare(settings)
    assert str(refused.value).startswith(
        f"master key v1 is missing: VAULT_MASTER_KEY_FILE={key_file} does not exist, but the "
        "database needs it (v1 wraps 0 citizen keys and 1 index keys)"
    )
    assert not key_file.exists()


def test_a_key_file_swapped_under_a_running_server_wraps_nothing(
    app: FastAPI, client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    register(client)
    key_file = settings.resolved_master_key_file
    backup = key_file.rename(tmp_path / "backup.key")
    masterkeys.create(key_file)

    body = {"national_id": new_national_id(), "full_name": "Trần Thị Bình", "password": PASSWORD}
    refused = client.post("/api/v1/citizens", json=body)
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "60"
    assert refused.json()["type"].endswith("key-unavailable")
    with Session(app.state.engine) as session:
        assert session.exec(select(func.count()).select_from(CitizenKey)).one() == 1

    os.replace(backup, key_file)
    register(client)
    with Session(app.state.engine) as session:
        assert session.exec(select(func.count()).select_from(CitizenKey)).one() == 2


def test_a_key_file_gone_from_under_a_running_server_stops_its_work_until_put_back(
    app: FastAPI, client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    register(client)
    key_file = settings.resolved_master_key_file
    moved = key_file.rename(tmp_path / "moved.key")

    body = {"national_id": new_national_id(), "full_name": "Trần Thị Bình", "password": PASSWORD}
    refused = client.post("/api/v1/citizens", json=body)
    assert refused.status_code == 503, refused.text
    assert refused.json()["type"].endswith("key-unavailable")
    assert client.get("/readyz").status_code == 503
    with Session(app.state.engine) as session:
        assert session.exec(select(func.count()).select_from(CitizenKey)).one() == 1

    os.replace(moved, key_file)
    register(client)
    assert client.get("/readyz").status_code == 200


@pytest.mark.parametrize(
    "stack", [Stack("sqlite", "file"), Stack("postgresql", "file")], indirect=True, ids=str
)
def test_a_vault_from_before_check_values_is_checked_on_its_citizen_keys(
    app: FastAPI, client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    citizen = register(client)
    paper = files.pdf()
    stored = upload(client, citizen, ("a.pdf", paper)).json()
    app.state.engine.dispose()
    master = masterkeys.load(settings.resolved_master_key_file)
    config = db.alembic_config(settings.resolved_database_url, master=master)
    command.downgrade(config, "0004")
    command.upgrade(config, "head")  # the check values are gone, the citizen keys are not
    key_file = settings.resolved_master_key_file
    backup = key_file.rename(tmp_path / "backup.key")
    masterkeys.create(key_file)

    refused = runner.invoke(cli, ["serve"], env=settings_env(settings))
    assert refused.exit_code == 2 and "master key v1 is wrong" in refused.output

    os.replace(backup, key_file)
    path = f"/api/v1/documents/{stored['id']}/content"
    assert _download(settings, path, citizen.headers) == paper
    with Session(app.state.engine) as session:
        assert session.exec(select(MasterKeyCheck.version)).all() == [1]
