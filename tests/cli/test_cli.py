"""The operator's commands, run as an operator would, against the real database and store."""

import time
import uuid
from pathlib import Path

import psutil
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import Session
from typer.testing import CliRunner

from tests.conftest import Stack
from tests.support import files
from tests.support.api import PASSWORD, register, upload
from tests.support.env import settings_env
from tests.support.server import vault_server
from vault.app import create_app
from vault.cli import app as cli
from vault.keys.models import CitizenKey
from vault.settings import Settings

runner = CliRunner()


def test_rotate_status_and_retire(app: FastAPI, client: TestClient, settings: Settings) -> None:
    citizen = register(client)
    body = upload(client, citizen, ("a.pdf", files.pdf())).json()
    env = settings_env(settings)

    status = runner.invoke(cli, ["keys", "status"], env=env)
    assert status.exit_code == 0
    assert "v1 (current): present, wraps 1 citizen keys and 1 index keys" in status.output
    rotated = runner.invoke(cli, ["keys", "rotate"], env=env)
    assert rotated.exit_code == 0, rotated.output
    assert "enqueued the rewrap" in rotated.output
    status = runner.invoke(cli, ["keys", "status"], env=env)
    assert "v1: present, wraps 1 citizen keys and 1 index keys" in status.output
    assert runner.invoke(cli, ["worker", "--burst"], env=env).exit_code == 0
    status = runner.invoke(cli, ["keys", "status"], env=env)
    assert "v1: present, wraps 0 citizen keys\n" in status.output
    assert "v2 (current): present, wraps 1 citizen keys and 1 index keys" in status.output
    current = runner.invoke(cli, ["keys", "retire", "--version", "2"], env=env)
    assert current.exit_code == 2 and "current" in current.output
    retired = runner.invoke(cli, ["keys", "retire", "--version", "1"], env=env)
    assert retired.exit_code == 0, retired.output

    restarted = create_app(settings)
    with TestClient(restarted) as fresh:
        assert (
            fresh.get(
                f"/api/v1/documents/{body['id']}/content", headers=citizen.headers
            ).status_code
            == 200
        )
        login = {"username": citizen.national_id, "password": PASSWORD}
        assert fresh.post("/api/v1/auth/token", data=login).status_code == 200
    restarted.state.engine.dispose()
    assert "\n" + "v1 " not in settings.resolved_master_key_file.read_text()


def test_a_version_that_authenticates_kept_anchors_is_not_retired(
    client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    """Anchors are MAC'd under the master version current when taken: retired, it would leave
    them unverifiable, and `vault audit verify --anchors` would take them for forgeries."""
    register(client)
    env = settings_env(settings)
    assert runner.invoke(cli, ["audit", "anchor"], env=env).exit_code == 0
    assert runner.invoke(cli, ["keys", "rotate"], env=env).exit_code == 0
    assert runner.invoke(cli, ["worker", "--burst"], env=env).exit_code == 0
    refused = runner.invoke(cli, ["keys", "retire", "--version", "1"], env=env)
    assert refused.exit_code == 2
    assert "still authenticates 1 lines of" in refused.output
    kept = settings.data_dir / "audit-anchors.jsonl"
    verified = runner.invoke(cli, ["audit", "verify", "--anchors", str(kept)], env=env)
    assert verified.exit_code == 0, verified.output
    kept.rename(tmp_path / "archived-anchors.jsonl")  # the operator archives them elsewhere
    retired = runner.invoke(cli, ["keys", "retire", "--version", "1"], env=env)
    assert retired.exit_code == 0, retired.output


def test_a_citizen_joining_just_after_a_rotation_is_wrapped_under_the_new_version(
    app: FastAPI, client: TestClient, settings: Settings
) -> None:
    """The server reloads the key file every few seconds for reads; a new citizen key is wrapped
    under the file as it is now, so retiring the old version right after cannot strand it."""
    register(client)
    env = settings_env(settings)
    assert runner.invoke(cli, ["keys", "rotate"], env=env).exit_code == 0
    assert runner.invoke(cli, ["worker", "--burst"], env=env).exit_code == 0
    assert runner.invoke(cli, ["keys", "retire", "--version", "1"], env=env).exit_code == 0
    joined = register(client)
    status = runner.invoke(cli, ["keys", "status"], env=env)
    assert status.exit_code == 0 and "v2 (current): present, wraps 2 citizen keys" in status.output
    app.state.backend.keyring.forget(uuid.UUID(joined.id))
    assert client.get("/api/v1/citizens/me", headers=joined.headers).status_code == 200

    with Session(app.state.engine) as session:
        session.execute(update(CitizenKey).values(master_version=7))
        session.commit()
    status = runner.invoke(cli, ["keys", "status"], env=env)
    assert status.exit_code == 1 and "v7: missing, wraps 2" in status.output


def test_retiring_a_version_still_in_use_is_refused(
    app: FastAPI, client: TestClient, settings: Settings
) -> None:
    register(client)
    env = settings_env(settings)
    from vault.crypto import masterkeys

    masterkeys.add_version(settings.resolved_master_key_file)
    refused = runner.invoke(cli, ["keys", "retire", "--version", "1"], env=env)
    assert refused.exit_code == 2
    assert "still wraps 1 citizen keys and 1 index keys" in refused.output
    finished = runner.invoke(cli, ["keys", "rewrap"], env=env)
    assert "rewrapped 1 citizen keys under version 2" in finished.output


@pytest.mark.parametrize("first", [["keys", "init"], ["db", "upgrade"]])
def test_a_new_vault_gets_its_signing_key_before_its_first_start(
    tmp_path: Path, first: list[str]
) -> None:
    """Key and schema in either order, then the signing key, then `vault serve`."""
    env = {"VAULT_DATA_DIR": str(tmp_path)}
    then = ["db", "upgrade"] if first == ["keys", "init"] else ["keys", "init"]
    for command in (first, then, ["keys", "init-signing"]):
        done = runner.invoke(cli, command, env=env)
        assert done.exit_code == 0, (command, done.output)
    assert "created the audit signing key" in done.output


def test_serve_refuses_production_without_a_key(tmp_path: Path) -> None:
    env = {
        "VAULT_ENV": "production",
        "VAULT_DATA_DIR": str(tmp_path),
        "VAULT_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:5432/test",
        "VAULT_MASTER_KEY_FILE": str(tmp_path / "missing.key"),
    }
    result = runner.invoke(cli, ["serve"], env=env)
    assert result.exit_code == 2
    assert "missing.key does not exist" in result.output
    assert not (tmp_path / "missing.key").exists()


def test_serve_refuses_a_short_key(tmp_path: Path) -> None:
    (tmp_path / "master.key").write_text("v1 c2hvcnQ=\n")
    result = runner.invoke(cli, ["serve"], env={"VAULT_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 2
    assert "not 32 bytes" in result.output


def test_serve_refuses_contradictory_settings(tmp_path: Path) -> None:
    result = runner.invoke(
        cli, ["serve"], env={"VAULT_DATA_DIR": str(tmp_path), "VAULT_STORAGE": "s3"}
    )
    assert result.exit_code == 2
    assert "VAULT_STORAGE=s3 needs VAULT_S3_ENDPOINT" in result.output


def test_a_database_not_set_up_is_a_clear_message(tmp_path: Path) -> None:
    env = {"VAULT_DATA_DIR": str(tmp_path / "fresh"), "VAULT_DATABASE_URL": ""}
    result = runner.invoke(
        cli, ["agency", "create", "--code", "CA-DN", "--name", "Công an"], env=env
    )
    assert result.exit_code == 2
    assert "vault db upgrade" in result.output and "Traceback" not in result.output
    upgraded = runner.invoke(cli, ["db", "upgrade"], env=env)
    assert upgraded.exit_code == 0, upgraded.output
    made = runner.invoke(cli, ["agency", "create", "--code", "CA-DN", "--name", "Công an"], env=env)
    assert made.exit_code == 0, made.output


def test_bad_operator_input_is_a_clear_message_not_a_traceback(
    app: FastAPI, settings: Settings, tmp_path: Path
) -> None:
    env = settings_env(settings)
    not_text = tmp_path / "latin1.txt"
    not_text.write_bytes(b"C\xf4ng an\n")
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    agency = ["agency", "create", "--code", "UBND-X", "--name", "UBND"]
    assert runner.invoke(cli, agency, env=env).exit_code == 0
    cases = [
        (["keys", "rotate"], {"VAULT_MASTER_KEY_FILE": str(tmp_path / "gone.key")}, "gone.key"),
        (["keys", "rotate"], {"VAULT_MASTER_KEY_FILE": str(not_text)}, ""),
        (["keys", "init", "--file", str(a_file / "master.key")], {}, "a-file"),
        ([*agency[:3], "A-2", *agency[4:], "--public-key", str(tmp_path / "no.pem")], {}, "no.pem"),
        ([*agency[:3], "A-3", *agency[4:], "--public-key", str(not_text)], {}, "UTF-8"),
        (["procedures", "import", str(not_text)], {}, "UTF-8"),
        (["audit", "verify", "--anchors", str(not_text)], {}, "UTF-8"),
        (["audit", "anchor", "--file", str(tmp_path / "no" / "dir")], {}, "No such file"),
        (["storage", "gc", "--grace-minutes", "-1"], {}, "grace-minutes"),
        (["storage", "gc", "--grace-minutes", "999999999999"], {}, "grace-minutes"),
        (["agency", "create", "--code", "A-4", "--name", "x" * 201], {}, "200"),
        (
            ["officer", "create", "--agency", "UBND-X", "--username", "mai", "--name", "x" * 201],
            {},
            "200",
        ),
    ]
    for command, extra, said in cases:
        result = runner.invoke(cli, command, env={**env, **extra})
        assert result.exit_code == 2, (command, result.output)
        assert said in result.output and "Traceback" not in result.output, command
    listed = runner.invoke(cli, ["agency", "list"], env=env).output
    assert listed.count("\n") == 1


@pytest.mark.servers
@pytest.mark.parametrize("stack", [Stack("sqlite", "file")], indirect=True, ids=str)
def test_serve_with_workers_leaves_no_process_behind(settings: Settings, tmp_path: Path) -> None:
    """Each worker's upload sandbox is a process pool behind a forkserver; stopping the server
    must end them all, or every restart leaves idle processes holding memory."""
    with vault_server(settings_env(settings), tmp_path, workers=2) as server:
        started = psutil.Process(server.pid).children(recursive=True)
        assert len(started) >= 6, [p.cmdline()[-1][:60] for p in started]
    deadline = time.monotonic() + 15
    while (left := [p for p in started if _running(p)]) and time.monotonic() < deadline:
        time.sleep(0.2)
    for process in left:
        process.kill()
    assert not left, [" ".join(p.cmdline())[:100] for p in left]


def _running(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_a_containers_copy_of_the_key_secret_is_not_rotated_or_retired(tmp_path: Path) -> None:
    """`docker compose exec … vault keys rotate` would add the version to the entrypoint's copy
    on a tmpfs, which vanishes with the container after keys were rewrapped under it."""
    secret = tmp_path / "secret" / "master.key"
    secret.parent.mkdir()
    env = {"VAULT_DATA_DIR": str(tmp_path), "VAULT_MASTER_KEY_FILE": str(secret)}
    assert runner.invoke(cli, ["keys", "init"], env=env).exit_code == 0
    assert runner.invoke(cli, ["db", "upgrade"], env=env).exit_code == 0
    copy = tmp_path / "run" / "master.key"
    copy.parent.mkdir()
    copy.write_bytes(secret.read_bytes())
    copy.chmod(0o600)
    inside = env | {"VAULT_MASTER_KEY_FILE": str(copy), "VAULT_MASTER_KEY_SECRET": str(secret)}
    for command in (["keys", "rotate"], ["keys", "retire", "--version", "1"]):
        refused = runner.invoke(cli, command, env=inside)
        assert refused.exit_code == 2, refused.output
        assert "copy of the secret" in refused.output
    assert copy.read_bytes() == secret.read_bytes()
    # The secret's own file, as the README's one-off container writes it: rotated.
    own = env | {"VAULT_MASTER_KEY_SECRET": str(secret)}
    assert runner.invoke(cli, ["keys", "rotate"], env=own).exit_code == 0
