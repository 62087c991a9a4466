"""examples/agency_client.py, run as an agency would run it, against the in-process vault: it
finds every call by operation id in the published schema, downloads the shared papers, takes up
a dossier, deposits the signed result and completes it."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from fastapi.testclient import TestClient

from tests.dossiers.test_dossiers import FORM, MARRIAGE
from tests.support import files
from tests.support.api import Account, AgencyAccount, register, register_agency, share, upload
from vault.crypto import signatures
from vault.kit import days

EXAMPLE = Path(__file__).parents[2] / "examples" / "agency_client.py"


@pytest.fixture(scope="module")
def agency_client() -> ModuleType:
    spec = importlib.util.spec_from_file_location("agency_client", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def keys() -> tuple[str, str]:
    return signatures.generate()


@pytest.fixture
def agency(client: TestClient, keys: tuple[str, str]) -> AgencyAccount:
    return register_agency(client, "UBND-HAICHAU", "UBND phường Hải Châu", public_key_pem=keys[1])


@pytest.fixture
def citizen(client: TestClient) -> Account:
    return register(client, full_name="Nguyễn Thị Lan")


def _submitted(client: TestClient, citizen: Account, agency: str) -> str:
    created = client.post(
        "/api/v1/dossiers", headers=citizen.headers, json={"procedure": MARRIAGE, "agency": agency}
    ).json()
    path = f"/api/v1/dossiers/{created['id']}"
    assert client.patch(f"{path}/form", headers=citizen.headers, json=FORM).status_code == 200
    submitted = client.post(f"{path}/submit", headers=citizen.headers)
    assert submitted.status_code == 200, submitted.text
    return str(created["id"])


def test_the_example_client_does_the_whole_agency_flow(
    agency_client: ModuleType,
    client: TestClient,
    agency: AgencyAccount,
    citizen: Account,
    keys: tuple[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    card, photo = files.pdf(), files.jpeg_with_gps()
    first = upload(client, citizen, ("cccd.pdf", card), doc_type="CCCD").json()
    second = upload(client, citizen, ("giay khai sinh.jpg", photo), doc_type="GKS").json()
    single = {"doc_type": "XNTTHN", "issued_on": str(days.today())}
    upload(client, citizen, ("xac nhan.pdf", files.pdf()), **single)
    grant = share(client, citizen, agency.code, first["id"], second["id"]).json()
    dossier = _submitted(client, citizen, agency.code)
    result, key = tmp_path / "ket-qua.pdf", tmp_path / "agency.pem"
    result.write_bytes(files.pdf())
    key.write_text(keys[0])
    out = tmp_path / "papers"
    argv = [
        *("--client-id", agency.client_id, f"--client-secret={agency.client_secret}"),
        *(f"--share={grant['token']}", "--out", str(out), "--dossier", dossier),
        *("--result", str(result), "--key", str(key)),
    ]

    assert agency_client.main(argv, http=client) == 0

    printed = capsys.readouterr().out
    assert "1 dossiers waiting" in printed and f"dossier {dossier}: completed" in printed
    saved = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in out.iterdir()}
    # The shared papers as stored, under the names the vault gives them.
    assert saved[first["filename"]] == first["sha256"]
    assert saved[second["filename"]] == second["sha256"]
    papers = client.get("/api/v1/documents", headers=citizen.headers).json()
    issued = [p for p in papers if p["trust"] == "issued"]
    assert [(p["doc_type"], p["issuer"]["code"]) for p in issued] == [("GCNKH", agency.code)]
    assert issued[0]["sha256"] == hashlib.sha256(result.read_bytes()).hexdigest()
    uses = client.get(f"/api/v1/grants/{grant['id']}", headers=citizen.headers).json()["uses"]
    assert uses == 2


def test_a_refusal_is_reported_as_its_problem_document(
    agency_client: ModuleType,
    client: TestClient,
    agency: AgencyAccount,
    citizen: Account,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    paper = upload(client, citizen, ("cccd.pdf", files.pdf()), doc_type="CCCD").json()
    grant = share(client, citizen, agency.code, paper["id"]).json()
    revoked = client.delete(f"/api/v1/grants/{grant['id']}", headers=citizen.headers)
    assert revoked.status_code == 204
    argv = [
        *("--client-id", agency.client_id, f"--client-secret={agency.client_secret}"),
        *(f"--share={grant['token']}", "--out", str(tmp_path / "papers")),
    ]

    assert agency_client.main(argv, http=client) == 1

    assert "refused: 410 /problems/gone:" in capsys.readouterr().err
    assert not any((tmp_path / "papers").iterdir())


def test_wrong_credentials_get_no_token(
    agency_client: ModuleType,
    client: TestClient,
    agency: AgencyAccount,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["--client-id", agency.client_id, "--client-secret", "not the secret"]

    assert agency_client.main([*argv, "--out", str(tmp_path / "papers")], http=client) == 1

    assert "refused: 401 /problems/authentication-failed" in capsys.readouterr().err
