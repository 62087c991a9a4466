"""Agencies' signing keys under the master key: bound to their id and agency, rewrapped by a
master key rotation, and counted by `vault keys retire` and `vault keys status`."""

import base64
import json
import os
import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session
from typer.testing import CliRunner

from tests.support import files
from tests.support.api import register, register_agency, upload
from tests.support.assist import acting_headers, register_officer
from tests.support.env import settings_env
from vault import crypto
from vault.cli import app as cli
from vault.crypto import MasterKeys, masterkeys, statements
from vault.keys import Keyring, agency_keys
from vault.keys.models import AgencyKey, KeyUse
from vault.settings import Settings


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_a_wrapped_agency_key_opens_only_as_its_own_key_of_its_own_agency() -> None:
    master = MasterKeys({1: os.urandom(32)})
    row = agency_keys.new_row(master, agency_id=uuid.uuid4(), use=KeyUse.CERTIFY)
    private = agency_keys.unwrap(master, row)
    assert statements.public_key_of(private) == row.public_key
    assert row.key_id == agency_keys.key_id_of(row.public_key)
    moved = AgencyKey(**(row.model_dump() | {"agency_id": uuid.uuid4()}))
    with pytest.raises(crypto.IntegrityError):
        agency_keys.unwrap(master, moved)
    renamed = AgencyKey(**(row.model_dump() | {"key_id": "another-key-id"}))
    with pytest.raises(crypto.IntegrityError):
        agency_keys.unwrap(master, renamed)
    assert private not in row.wrapped_key


def test_a_master_key_rotation_rewraps_the_agency_keys(
    app: FastAPI, client: TestClient, settings: Settings
) -> None:
    env, runner = settings_env(settings), CliRunner()
    agency = register_agency(client, "UBND-HAICHAU")
    made = runner.invoke(cli, ["agency", "certify-key", "--code", agency.code, "--json"], env=env)
    assert made.exit_code == 0, made.output
    key_id = json.loads(made.stdout)["key_id"]
    citizen = register(client)
    headers = acting_headers(client, register_officer(client, agency.code), citizen)

    key_file = settings.resolved_master_key_file
    assert masterkeys.add_version(key_file) == 2
    with Session(app.state.engine) as session:
        assert Keyring.agency_key_usage(session) == {1: 1}
    refused = runner.invoke(cli, ["keys", "retire", "--version", "1"], env=env)
    assert refused.exit_code != 0 and "and 1 agency keys" in refused.output
    status = runner.invoke(cli, ["keys", "status"], env=env)
    assert "v1: present, wraps 1 citizen keys and 1 index keys and 1 agency keys" in status.output

    rewrapped = runner.invoke(cli, ["keys", "rewrap"], env=env)
    assert rewrapped.exit_code == 0, rewrapped.output
    with Session(app.state.engine) as session:
        assert Keyring.agency_key_usage(session) == {2: 1}
        row = session.get(AgencyKey, key_id)
        assert row is not None and row.master_version == 2 and row.rewrapped_at is not None
    retired = runner.invoke(cli, ["keys", "retire", "--version", "1"], env=env)
    assert retired.exit_code == 0, retired.output

    # The same key, now under version 2 only, still signs what its public key verifies.
    paper = upload(client, citizen, ("a.pdf", files.pdf())).json()
    body = {"document_id": paper["id"], "version": 1}
    made = client.post("/api/v1/assist/certifications", headers=headers, json=body)
    assert made.status_code == 201, made.text
    certification = made.json()
    assert certification["key_id"] == key_id
    (published,) = client.get(f"/api/v1/agencies/{agency.code}/keys").json()["keys"]
    public = ed25519.Ed25519PublicKey.from_public_bytes(_b64url(published["public_key"]))
    public.verify(_b64url(certification["signature"]), _b64url(certification["statement"]))
