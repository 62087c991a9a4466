"""Operators register agencies and manage their credentials from the command line."""

import json

from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.support.env import settings_env
from vault.cli import app as cli
from vault.settings import Settings

runner = CliRunner()


def _token(client: TestClient, client_id: str, secret: str) -> int:
    return client.post(
        "/api/v1/agency/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    ).status_code


def test_create_list_rotate_disable(app: FastAPI, client: TestClient, settings: Settings) -> None:
    env = settings_env(settings)
    created = runner.invoke(
        cli,
        ["agency", "create", "--code", "UBND-HAICHAU", "--name", "UBND phường Hải Châu", "--json"],
        env=env,
    )
    assert created.exit_code == 0, created.output
    first = json.loads(created.stdout)
    assert set(first) == {"code", "client_id", "client_secret"} and first["code"] == "UBND-HAICHAU"
    assert _token(client, first["client_id"], first["client_secret"]) == 200

    duplicate = runner.invoke(
        cli, ["agency", "create", "--code", "UBND-HAICHAU", "--name", "Again"], env=env
    )
    assert duplicate.exit_code == 2 and "already exists" in duplicate.output

    listed = runner.invoke(cli, ["agency", "list"], env=env)
    assert "UBND-HAICHAU\tactive" in listed.output and first["client_secret"] not in listed.output

    rotated = runner.invoke(
        cli, ["agency", "rotate-secret", "--code", "UBND-HAICHAU", "--json"], env=env
    )
    second = json.loads(rotated.stdout)
    assert (
        second["client_id"] == first["client_id"]
        and second["client_secret"] != first["client_secret"]
    )
    assert _token(client, first["client_id"], first["client_secret"]) == 401
    assert _token(client, second["client_id"], second["client_secret"]) == 200

    assert (
        runner.invoke(cli, ["agency", "disable", "--code", "UBND-HAICHAU"], env=env).exit_code == 0
    )
    assert _token(client, second["client_id"], second["client_secret"]) == 401
    assert "UBND-HAICHAU\tdisabled" in runner.invoke(cli, ["agency", "list"], env=env).output
    unknown = runner.invoke(cli, ["agency", "disable", "--code", "NOPE"], env=env)
    assert unknown.exit_code == 2


def test_token_endpoint_speaks_oauth2(app: FastAPI, client: TestClient, settings: Settings) -> None:
    env = settings_env(settings)
    made = json.loads(
        runner.invoke(
            cli, ["agency", "create", "--code", "CA-DN", "--name", "Công an", "--json"], env=env
        ).stdout
    )
    basic = client.post(
        "/api/v1/agency/token",
        data={"grant_type": "client_credentials"},
        auth=(made["client_id"], made["client_secret"]),
    )
    assert (
        basic.status_code == 200
        and basic.json()["token_type"] == "bearer"
        and basic.json()["expires_in"] == 600
    )
    wrong_type = client.post(
        "/api/v1/agency/token",
        data={"grant_type": "password", "client_id": "x", "client_secret": "y"},
    )
    assert wrong_type.status_code == 400 and wrong_type.json()["error"] == "unsupported_grant_type"
    missing = client.post("/api/v1/agency/token", data={"grant_type": "client_credentials"})
    assert missing.status_code == 401
    for header in (b"Basic \xe9\xe9\xe9\xe9", b"Basic !!!!", b"Basic " + b"//79/w=="):
        garbled = client.post(
            "/api/v1/agency/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": header},
        )
        assert garbled.status_code == 401, header
