"""Certified copies through the API: an officer acting for the citizen certifies the current
version of a paper; the statement verifies offline with plain `cryptography`, from the key the
agency publishes, and stops matching when the paper or the statement changes."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from fastapi.testclient import TestClient
from sqlmodel import Session
from typer.testing import CliRunner

from tests.api import test_delegations as delegations
from tests.support import files
from tests.support.api import Account, AgencyAccount, register, register_agency, upload
from tests.support.assist import OfficerAccount, acting_headers, register_officer
from tests.support.env import settings_env
from vault import audit, db
from vault.assist import agency_keys
from vault.cli import app as cli
from vault.crypto import signatures
from vault.settings import Settings

CERTIFY = "/api/v1/assist/certifications"
LAND_REGISTRATION = "1.013978"  # asks for a certified GTQSDD_KHAC


def b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_certify_key(client: TestClient, code: str) -> str:
    """What `vault agency certify-key --code CODE` does."""
    app = client.app
    with db.unit_of_work(app.state.engine) as session:  # type: ignore[attr-defined]
        return agency_keys.make_certify_key(session, app.state.backend.keyring, code)  # type: ignore[attr-defined]


@pytest.fixture
def agency(client: TestClient) -> AgencyAccount:
    account = register_agency(client, "UBND-HAICHAU")
    make_certify_key(client, account.code)
    return account


@pytest.fixture
def officer(client: TestClient, agency: AgencyAccount) -> OfficerAccount:
    return register_officer(client, agency.code)


@pytest.fixture
def citizen(client: TestClient) -> Account:
    return register(client)


def certify(
    client: TestClient, headers: dict[str, str], paper: dict, *, version: int | None = None
) -> object:
    body = {"document_id": paper["id"], "version": version or paper["version"]}
    return client.post(CERTIFY, headers=headers, json=body)


def published_key(client: TestClient, code: str, key_id: str) -> ed25519.Ed25519PublicKey:
    keys = client.get(f"/api/v1/agencies/{code}/keys")  # public: no token
    assert keys.status_code == 200, keys.text
    (key,) = [k for k in keys.json()["keys"] if k["key_id"] == key_id]
    assert (key["use"], key["algorithm"]) == ("certify", "Ed25519")
    return ed25519.Ed25519PublicKey.from_public_bytes(b64url(key["public_key"]))


def test_a_certified_copy_verifies_offline_and_not_once_changed(
    client: TestClient, agency: AgencyAccount, officer: OfficerAccount, citizen: Account
) -> None:
    data = files.pdf()
    paper = upload(client, citizen, ("khai sinh.pdf", data), doc_type="GKS").json()
    headers = acting_headers(client, officer, citizen, ("documents:read",))

    made = client.post(
        CERTIFY,
        headers=headers,
        json={"document_id": paper["id"], "version": 1, "note": "Đã đối chiếu bản chính"},
    )
    assert made.status_code == 201, made.text
    fetched = client.get(f"/api/v1/documents/{paper['id']}/certification", headers=citizen.headers)
    assert fetched.status_code == 200
    certification = fetched.json()
    assert certification == made.json()
    assert certification["algorithm"] == "Ed25519"
    assert certification["note"] == "Đã đối chiếu bản chính"

    # What any verifier does, offline, with the paper, the statement and the published key.
    statement, signature = b64url(certification["statement"]), b64url(certification["signature"])
    key = published_key(client, agency.code, certification["key_id"])
    key.verify(signature, statement)
    claims = json.loads(statement)
    paper_bytes = client.get(
        f"/api/v1/documents/{paper['id']}/content", headers=citizen.headers
    ).content
    assert claims["sha256"] == hashlib.sha256(paper_bytes).hexdigest() == paper["sha256"]
    assert statement == json.dumps(claims, sort_keys=True, separators=(",", ":")).encode()
    assert set(claims) == {
        "sha256", "doc_type", "version", "citizen", "agency", "officer", "certified_at"
    }  # fmt: skip
    assert (claims["doc_type"], claims["version"], claims["agency"], claims["officer"]) == (
        "GKS",
        1,
        agency.code,
        officer.username,
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", claims["certified_at"])
    # The citizen as a keyed hash: neither their id nor their national ID number.
    assert re.fullmatch(r"[0-9a-f]{64}", claims["citizen"])
    assert citizen.id.replace("-", "") not in statement.decode()
    assert citizen.national_id not in statement.decode()
    for plain in (citizen.id, citizen.national_id):
        assert hashlib.sha256(plain.encode()).hexdigest() != claims["citizen"]

    # A flipped byte in the paper: its SHA-256 is no longer the one signed.
    flipped_paper = bytes([paper_bytes[0] ^ 1]) + paper_bytes[1:]
    assert hashlib.sha256(flipped_paper).hexdigest() != claims["sha256"]
    # A flipped byte in the statement: the signature fails.
    flipped = bytearray(statement)
    flipped[10] ^= 1
    with pytest.raises(InvalidSignature):
        key.verify(signature, bytes(flipped))

    assert (
        client.get(f"/api/v1/documents/{paper['id']}", headers=citizen.headers).json()["trust"]
        == "certified"
    )
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        (event,) = audit.chain_of(session, uuid.UUID(citizen.id), ("document.certify",))
    assert (event.actor_type, event.actor_id) == ("officer", officer.username)
    details = json.loads(event.details)
    assert details["doc_type"] == "GKS" and details["version"] == 1
    assert details["key_id"] == certification["key_id"]
    assert "Đã đối chiếu" not in event.details and claims["sha256"] not in event.details

    # The same citizen is the same reference in every statement.
    second = upload(client, citizen, ("cccd.pdf", files.pdf(pages=2)), doc_type="CCCD").json()
    again = certify(client, headers, second).json()
    assert json.loads(b64url(again["statement"]))["citizen"] == claims["citizen"]


def test_a_new_version_is_not_certified(
    client: TestClient, agency: AgencyAccount, officer: OfficerAccount, citizen: Account
) -> None:
    paper = upload(client, citizen, ("a.pdf", files.pdf())).json()
    headers = acting_headers(client, officer, citizen, ("documents:read",))
    assert certify(client, headers, paper).status_code == 201
    path = f"/api/v1/documents/{paper['id']}"

    newer = upload(client, citizen, ("b.pdf", files.pdf(pages=2)), path=f"{path}/versions")
    assert newer.status_code == 201, newer.text
    assert newer.json()["trust"] == "self_scan"
    assert client.get(path, headers=citizen.headers).json()["trust"] == "self_scan"
    missing = client.get(f"{path}/certification", headers=citizen.headers)
    assert missing.status_code == 404
    assert "not certified" in missing.json()["detail"]
    versions = client.get(f"{path}/versions", headers=citizen.headers).json()
    assert [(v["version"], v["trust"]) for v in versions] == [(2, "self_scan"), (1, "certified")]

    # The older version can no longer be certified; the current one can.
    stale = certify(client, headers, paper, version=1)
    assert stale.status_code == 409
    assert "not the current version" in stale.json()["detail"]
    assert certify(client, headers, paper, version=7).status_code == 409
    assert certify(client, headers, newer.json()).status_code == 201
    assert client.get(f"{path}/certification", headers=citizen.headers).status_code == 200

    # A certified paper is deleted as any other; its certifications go with it.
    assert client.delete(path, headers=citizen.headers).status_code == 204
    assert client.get(f"{path}/certification", headers=citizen.headers).status_code == 404


def test_a_certified_papers_type_number_and_dates_are_confirmed_never_moved(
    client: TestClient, agency: AgencyAccount, officer: OfficerAccount, citizen: Account
) -> None:
    """What the officer compared with the original is what dossiers and a child's vault trust:
    confirming the paper's reading may repeat it, not change it."""
    details = {"doc_type": "CCCD", "number": "048090001234", "expires_on": "2035-01-01"}
    paper = upload(client, citizen, ("cccd.png", files.png()), **details).json()
    headers = acting_headers(client, officer, citizen, ("documents:read",))
    assert certify(client, headers, paper).status_code == 201
    path = f"/api/v1/documents/{paper['id']}"

    same = client.post(f"{path}/reading/accept", headers=citizen.headers, json=details)
    assert same.status_code == 200, same.text
    assert same.json()["trust"] == "certified"
    for moved in (
        {"doc_type": "GKS"},
        {"number": "048090009999"},
        {"expires_on": "2099-01-01"},
        {"issued_on": "2021-06-15"},
    ):
        refused = client.post(f"{path}/reading/accept", headers=citizen.headers, json=moved)
        assert refused.status_code == 409, (moved, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
        assert "certified at the counter" in refused.json()["detail"]
        assert next(iter(moved)) in refused.json()["detail"]
    kept = client.get(path, headers=citizen.headers).json()
    assert {k: kept[k] for k in details} == details
    assert (kept["issued_on"], kept["trust"]) == (None, "certified")


def test_a_dossier_asking_for_a_certified_paper_takes_it(
    client: TestClient, agency: AgencyAccount, officer: OfficerAccount, citizen: Account
) -> None:
    paper = upload(client, citizen, ("dat.pdf", files.pdf()), doc_type="GTQSDD_KHAC").json()
    body = {"procedure": LAND_REGISTRATION, "agency": agency.code}

    before = client.post("/api/v1/dossiers", headers=citizen.headers, json=body).json()
    (missing,) = [m for m in before["missing"] if m["doc_type"] == "GTQSDD_KHAC"]
    assert missing["reason"] == "trust_too_low"

    headers = acting_headers(client, officer, citizen, ("documents:read",))
    assert certify(client, headers, paper).status_code == 201
    after = client.post("/api/v1/dossiers", headers=citizen.headers, json=body)
    assert after.status_code == 201, after.text
    (attached,) = [a for a in after.json()["attachments"] if a["doc_type"] == "GTQSDD_KHAC"]
    assert attached["document_id"] == paper["id"]
    assert not [m for m in after.json()["missing"] if m["doc_type"] == "GTQSDD_KHAC"]


def test_only_an_officer_acting_with_documents_read_certifies_the_citizens_own_paper(
    client: TestClient, agency: AgencyAccount, officer: OfficerAccount, citizen: Account
) -> None:
    paper = upload(client, citizen, ("a.pdf", files.pdf())).json()

    assert certify(client, {}, paper).status_code == 401
    by_citizen = certify(client, citizen.headers, paper)
    assert by_citizen.status_code == 403 and "officer" in by_citizen.json()["detail"]
    assert certify(client, agency.headers, paper).status_code == 401
    assert certify(client, officer.headers, paper).status_code == 401  # not an acting token
    writes_only = acting_headers(client, officer, citizen, ("documents:write",))
    refused = certify(client, writes_only, paper)
    assert refused.status_code == 403 and "documents:read" in refused.json()["detail"]

    stranger = register(client, full_name="Lê Thị Hoa")
    theirs = upload(client, stranger, ("b.pdf", files.pdf())).json()
    headers = acting_headers(client, officer, citizen, ("documents:read",))
    assert certify(client, headers, theirs).status_code == 404
    path = f"/api/v1/documents/{theirs['id']}/certification"
    assert client.get(path, headers=citizen.headers).status_code == 404

    # A delegate (a family member acting for the citizen) cannot certify either.
    delegation = delegations.accepted(client, citizen, stranger, ["documents:read"])
    delegate_token = delegations.bearer(delegations.acting(client, stranger, delegation))
    delegate = certify(client, delegate_token, paper)
    assert delegate.status_code == 403

    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        assert audit.chain_of(session, uuid.UUID(citizen.id), ("document.certify",)) == []
    assert (
        client.get(f"/api/v1/documents/{paper['id']}", headers=citizen.headers).json()["trust"]
        == "self_scan"
    )


def test_an_agency_without_a_certifying_key_cannot_certify(
    client: TestClient, citizen: Account
) -> None:
    register_agency(client, "UBND-THACHTHANG")
    officer = register_officer(client, "UBND-THACHTHANG")
    paper = upload(client, citizen, ("a.pdf", files.pdf())).json()
    headers = acting_headers(client, officer, citizen, ("documents:read",))
    refused = certify(client, headers, paper)
    assert refused.status_code == 409
    assert "vault agency certify-key --code UBND-THACHTHANG" in refused.json()["detail"]
    assert client.get("/api/v1/agencies/UBND-THACHTHANG/keys").json() == {"keys": []}
    assert client.get("/api/v1/agencies/NOPE/keys").status_code == 404


def test_a_rotated_key_stays_published_and_new_certifications_use_the_new_one(
    client: TestClient, settings: Settings, citizen: Account
) -> None:
    issuing_private, issuing_public = signatures.generate()
    agency = register_agency(client, "UBND-SONTRA", public_key_pem=issuing_public)
    officer = register_officer(client, agency.code)
    env = settings_env(settings)
    made = CliRunner().invoke(
        cli, ["agency", "certify-key", "--code", agency.code, "--json"], env=env
    )
    assert made.exit_code == 0, made.output
    first = json.loads(made.stdout)
    assert first == {"agency": agency.code, "key_id": first["key_id"], "use": "certify"}
    assert "PRIVATE" not in made.output

    headers = acting_headers(client, officer, citizen, ("documents:read",))
    old_paper = upload(client, citizen, ("a.pdf", files.pdf())).json()
    old = certify(client, headers, old_paper).json()
    assert old["key_id"] == first["key_id"]

    rotated = CliRunner().invoke(cli, ["agency", "certify-key", "--code", agency.code], env=env)
    assert rotated.exit_code == 0, rotated.output
    second = rotated.stdout.strip().rsplit(" ", 1)[-1]
    assert second != first["key_id"]
    new_paper = upload(client, citizen, ("b.pdf", files.pdf(pages=2))).json()
    new = certify(client, headers, new_paper).json()
    assert new["key_id"] == second

    keys = client.get(f"/api/v1/agencies/{agency.code}/keys").json()["keys"]
    assert [(k["key_id"], k["use"]) for k in keys if k["use"] == "certify"] == [
        (first["key_id"], "certify"),
        (second, "certify"),
    ]
    for certification in (old, new):
        key = published_key(client, agency.code, certification["key_id"])
        key.verify(b64url(certification["signature"]), b64url(certification["statement"]))
    with pytest.raises(InvalidSignature):
        published_key(client, agency.code, second).verify(
            b64url(old["signature"]), b64url(old["statement"])
        )

    # The issuing key the agency registered, Ed25519: listed with its raw 32 bytes.
    (issuing,) = [k for k in keys if k["use"] == "issue"]
    raw = serialization.load_pem_public_key(issuing_public.encode()).public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    assert b64url(issuing["public_key"]) == raw and issuing["algorithm"] == "Ed25519"
    issued_signature = signatures.sign(issuing_private, b"x" * 32)
    ed25519.Ed25519PublicKey.from_public_bytes(raw).verify(issued_signature, b"x" * 32)

    # An ECDSA issuing key has no raw 32-byte form: it is not listed.
    ecdsa = ec.generate_private_key(ec.SECP256R1()).public_key()
    pem = ecdsa.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    register_agency(client, "UBND-CAMLE", public_key_pem=pem)
    assert client.get("/api/v1/agencies/UBND-CAMLE/keys").json() == {"keys": []}
