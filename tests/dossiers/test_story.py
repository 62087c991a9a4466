"""The acceptance story of dossiers that reuse stored papers, through the HTTP API."""

import base64
import hashlib
from datetime import date, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from tests.support import files
from tests.support.api import Account, AgencyAccount, register, register_agency, upload
from vault.crypto import signatures
from vault.documents.models import Document
from vault.kit import days

pytestmark = pytest.mark.journey  # whole journeys: the full tier, not the edit loop

MARRIAGE, MARITAL_STATUS, BIRTH = "1.000894", "1.004873", "1.001193"
TODAY = days.today()


@pytest.fixture
def signing_pair() -> tuple[str, str]:
    return signatures.generate()


@pytest.fixture
def agency(client: TestClient, signing_pair: tuple[str, str]) -> AgencyAccount:
    return register_agency(
        client, "UBND-HAICHAU", "UBND phường Hải Châu", public_key_pem=signing_pair[1]
    )


@pytest.fixture
def citizen(client: TestClient) -> Account:
    account = register(client, full_name="Nguyễn Thị Lan")
    born = date(
        1900 + 100 * (int(account.national_id[3]) // 2) + int(account.national_id[4:6]), 3, 8
    )
    profile = {"date_of_birth": born.isoformat(), "address": "12 Lê Duẩn, phường Hải Châu, Đà Nẵng"}
    assert (
        client.patch("/api/v1/citizens/me", headers=account.headers, json=profile).status_code
        == 200
    )
    return account


def _documents_in_vault(app: FastAPI) -> int:
    with Session(app.state.engine) as session:
        return session.exec(select(func.count()).select_from(Document)).one()


def test_dossiers_reuse_the_vault_and_the_agency_fills_it(
    app: FastAPI,
    client: TestClient,
    citizen: Account,
    agency: AgencyAccount,
    signing_pair: tuple[str, str],
) -> None:
    h = citizen.headers
    card = upload(
        client,
        citizen,
        ("cccd.jpg", files.jpeg_with_gps()),
        doc_type="CCCD",
        number="048095001234",
        issued_on=str(TODAY - timedelta(days=900)),
        expires_on=str(TODAY + timedelta(days=3000)),
    ).json()
    upload(
        client,
        citizen,
        ("ct07.pdf", files.pdf()),
        doc_type="XNCT",
        issued_on=str(TODAY - timedelta(days=400)),
        expires_on=str(TODAY - timedelta(days=35)),
    )
    upload(
        client,
        citizen,
        ("xnhn-cu.pdf", files.pdf()),
        doc_type="XNTTHN",
        issued_on=str(TODAY - timedelta(days=300)),
    )
    unrelated = upload(client, citizen, ("bang.pdf", files.pdf()), doc_type="BTN_THPT").json()

    # Dossier A: the card is reused, the old marital-status paper is too old, the expired
    # residence paper is reported expired.
    created = client.post(
        "/api/v1/dossiers", headers=h, json={"procedure": MARRIAGE, "agency": agency.code}
    )
    assert created.status_code == 201, created.text
    a = created.json()
    assert (a["status"], a["agency"], a["procedure"]) == ("draft", agency.code, MARRIAGE)
    assert [(x["doc_type"], x["document_id"], x["reused"]) for x in a["attachments"]] == [
        ("CCCD", card["id"], True)
    ]
    assert {(m["doc_type"], m["reason"], m["required"]) for m in a["missing"]} == {
        ("XNTTHN", "too_old", True),
        ("XNCT", "expired", False),
    }
    assert (
        a["form"]["ho_ten"] == "Nguyễn Thị Lan" and a["form"]["so_dinh_danh"] == citizen.national_id
    )
    assert a["form"]["noi_cu_tru"].startswith("12 Lê Duẩn") and a["form"]["ngay_sinh"]

    incomplete = client.post(f"/api/v1/dossiers/{a['id']}/submit", headers=h)
    assert incomplete.status_code == 409
    assert [m["doc_type"] for m in incomplete.json()["missing"]] == ["XNTTHN"]
    assert "ho_ten_ben_kia" in incomplete.json()["missing_fields"]

    fresh = upload(
        client,
        citizen,
        ("xnhn.pdf", files.pdf(text=b"XNTTHN")),
        path=f"/api/v1/dossiers/{a['id']}/attachments",
        doc_type="XNTTHN",
        issued_on=str(TODAY - timedelta(days=10)),
    )
    assert fresh.status_code == 201, fresh.text
    assert ("XNTTHN", False) in [(x["doc_type"], x["reused"]) for x in fresh.json()["attachments"]]
    form = {
        "ho_ten_ben_kia": "Lê Văn Bình",
        "so_dinh_danh_ben_kia": "048094009876",
        "ngay_sinh_ben_kia": "1994-05-02",
        "noi_cu_tru_ben_kia": "45 Hùng Vương, Đà Nẵng",
        "ket_hon_lan_thu": "Lần đầu",
    }
    assert client.patch(f"/api/v1/dossiers/{a['id']}/form", headers=h, json=form).status_code == 200
    submitted = client.post(f"/api/v1/dossiers/{a['id']}/submit", headers=h)
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["status"] == "submitted" and submitted.json()["grant_id"]

    # Dossier B needs an overlapping set: nothing is uploaded for it.
    before = _documents_in_vault(app)
    b = client.post(
        "/api/v1/dossiers", headers=h, json={"procedure": MARITAL_STATUS, "agency": agency.code}
    ).json()
    assert {(x["doc_type"], x["reused"]) for x in b["attachments"]} == {
        ("CCCD", True),
        ("XNTTHN", True),
    }
    assert [m["doc_type"] for m in b["missing"] if m["required"]] == []
    fill = {"gioi_tinh": "Nữ", "tinh_trang_hon_nhan": "Chưa kết hôn", "muc_dich_su_dung": "Kết hôn"}
    client.patch(f"/api/v1/dossiers/{b['id']}/form", headers=h, json=fill)
    assert client.post(f"/api/v1/dossiers/{b['id']}/submit", headers=h).status_code == 200
    assert _documents_in_vault(app) == before

    # The agency works on A: only A's papers, and only while it is open.
    listed = client.get("/api/v1/agency/dossiers?status=submitted", headers=agency.headers).json()
    assert {d["id"] for d in listed} == {a["id"], b["id"]}
    seen = client.get(f"/api/v1/agency/dossiers/{a['id']}", headers=agency.headers).json()
    assert seen["citizen"] == {"full_name": "Nguyễn Thị Lan", "national_id": citizen.national_id}
    assert seen["form"]["ho_ten_ben_kia"] == "Lê Văn Bình"
    paper_url = f"/api/v1/agency/dossiers/{a['id']}/documents"
    got = client.get(f"{paper_url}/{card['id']}/content", headers=agency.headers)
    assert got.status_code == 200
    assert got.content == client.get(f"/api/v1/documents/{card['id']}/content", headers=h).content
    assert (
        client.get(f"{paper_url}/{unrelated['id']}/content", headers=agency.headers).status_code
        == 404
    )
    moved = client.post(
        f"/api/v1/agency/dossiers/{a['id']}/status",
        headers=agency.headers,
        json={"status": "processing"},
    )
    assert moved.status_code == 200 and moved.json()["status"] == "processing"

    certificate = files.pdf(text=b"GIAY CHUNG NHAN KET HON")
    digest = hashlib.sha256(certificate).digest()
    result_fields = {"doc_type": "GCNKH", "number": "123/2026", "issued_on": str(TODAY)}
    forged = upload(
        client,
        agency,
        ("gcnkh.pdf", certificate),
        path=f"/api/v1/agency/dossiers/{a['id']}/result",
        signature=base64.b64encode(signatures.sign(signatures.generate()[0], digest)).decode(),
        **result_fields,
    )
    assert forged.status_code == 422 and forged.json()["field"] == "signature"
    assert _documents_in_vault(app) == before
    deposited = upload(
        client,
        agency,
        ("gcnkh.pdf", certificate),
        path=f"/api/v1/agency/dossiers/{a['id']}/result",
        signature=base64.b64encode(signatures.sign(signing_pair[0], digest)).decode(),
        **result_fields,
    )
    assert deposited.status_code == 201, deposited.text
    issued = deposited.json()
    assert (issued["trust"], issued["doc_type"], issued["issuer"]["code"]) == (
        "issued",
        "GCNKH",
        agency.code,
    )
    completed = client.post(
        f"/api/v1/agency/dossiers/{a['id']}/status",
        headers=agency.headers,
        json={"status": "completed"},
    )
    assert completed.json()["status"] == "completed"
    after = client.get(f"{paper_url}/{card['id']}/content", headers=agency.headers)
    assert after.status_code == 410 and after.json()["reason"] == "completed"

    # The citizen sees the issued paper in the vault, checks its signature, and reuses it.
    mine = client.get(f"/api/v1/documents/{issued['id']}", headers=h).json()
    assert mine["trust"] == "issued" and mine["number"] == "123/2026"
    check = client.get(f"/api/v1/documents/{issued['id']}/signature", headers=h).json()
    assert (
        check["valid"] is True
        and check["algorithm"] == "ed25519"
        and check["sha256"] == digest.hex()
    )
    assert signatures.verify(
        check["public_key"], bytes.fromhex(check["sha256"]), base64.b64decode(check["signature"])
    )
    c = client.post(
        "/api/v1/dossiers", headers=h, json={"procedure": BIRTH, "agency": agency.code}
    ).json()
    assert ("GCNKH", issued["id"], True) in [
        (x["doc_type"], x["document_id"], x["reused"]) for x in c["attachments"]
    ]
    history = client.get(f"/api/v1/dossiers/{a['id']}", headers=h).json()["history"]
    assert [e["status"] for e in history] == ["draft", "submitted", "processing", "completed"]

    figures = client.get("/api/v1/stats").json()
    assert figures["dossiers_submitted"] == 2
    assert (figures["papers_from_vault"], figures["papers_uploaded"]) == (3, 1)
    assert figures["reuse_rate"] == pytest.approx(0.75)
    metrics = client.get("/metrics").text
    assert f'vault_dossier_papers_total{{procedure="{MARRIAGE}",source="upload"}} 1.0' in metrics
    # Figures of what is held now, which erasure lowers: gauges, not counters.
    assert "# TYPE vault_dossier_papers_total gauge" in metrics
    assert "# TYPE vault_dossiers_submitted_total gauge" in metrics
