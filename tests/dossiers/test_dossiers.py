"""Dossier rules at the edges: who sees what, which moves are legal, what is refused."""

import base64
import hashlib
import json
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from tests.support import files
from tests.support.api import Account, AgencyAccount, register, register_agency, upload
from tests.support.env import settings_env
from tests.support.pages import signed_in
from vault.cli import app as cli
from vault.crypto import signatures
from vault.documents.models import Document
from vault.dossiers import workflow
from vault.kit import days
from vault.settings import Settings

MARRIAGE, CRIMINAL_RECORD = "1.000894", "3.000333"
TODAY = days.today()
FORM = {
    "ho_ten_ben_kia": "Lê Văn Bình",
    "so_dinh_danh_ben_kia": "048094009876",
    "ngay_sinh_ben_kia": "1994-05-02",
    "noi_cu_tru_ben_kia": "Đà Nẵng",
    "ket_hon_lan_thu": "Lần đầu",
    "ngay_sinh": "1995-01-01",
    "noi_cu_tru": "Đà Nẵng",
}


@pytest.fixture
def agency(client: TestClient) -> AgencyAccount:
    return register_agency(client, "UBND-HAICHAU", public_key_pem=signatures.generate()[1])


@pytest.fixture
def citizen(client: TestClient) -> Account:
    account = register(client)
    upload(client, account, ("cccd.pdf", files.pdf()), doc_type="CCCD")
    upload(client, account, ("xn.pdf", files.pdf()), doc_type="XNTTHN", issued_on=str(TODAY))
    return account


def _draft(
    client: TestClient, citizen: Account, agency: AgencyAccount, *, filled: bool = False
) -> dict:
    """A marriage registration dossier, just created; `filled`: its form answered too."""
    draft = client.post(
        "/api/v1/dossiers",
        headers=citizen.headers,
        json={"procedure": MARRIAGE, "agency": agency.code},
    ).json()
    if filled:
        path = f"/api/v1/dossiers/{draft['id']}/form"
        draft = client.patch(path, headers=citizen.headers, json=FORM).json()
    return draft


def _submitted(client: TestClient, citizen: Account, agency: AgencyAccount) -> dict:
    dossier = _draft(client, citizen, agency, filled=True)
    submitted = client.post(f"/api/v1/dossiers/{dossier['id']}/submit", headers=citizen.headers)
    assert submitted.status_code == 200, submitted.text
    return submitted.json()


def test_procedures_catalog(client: TestClient) -> None:
    listed = client.get("/api/v1/procedures").json()
    assert len(listed) >= 12
    marriage = client.get(f"/api/v1/procedures/{MARRIAGE}").json()
    assert marriage["agency_level"] == "commune" and marriage["name"] == "Đăng ký kết hôn"
    xnhn = next(r for r in marriage["requirements"] if r["doc_type"] == "XNTTHN")
    assert (xnhn["required"], xnhn["max_age_days"], xnhn["min_trust"]) == (True, 180, "self_scan")
    assert any(f["source"] == "profile.full_name" for f in marriage["form_fields"])
    assert client.get("/api/v1/procedures/0.000000").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"procedure": "0.000000", "agency": "UBND-HAICHAU"}, "procedure"),
        ({"procedure": MARRIAGE, "agency": "NOPE"}, "agency"),
        (
            {"procedure": CRIMINAL_RECORD, "agency": "UBND-HAICHAU"},
            "agency",
        ),  # a province-level procedure
    ],
)
def test_dossier_to_the_wrong_place_is_422(
    client: TestClient, citizen: Account, agency: AgencyAccount, body: dict, field: str
) -> None:
    refused = client.post("/api/v1/dossiers", headers=citizen.headers, json=body)
    assert refused.status_code == 422 and refused.json()["field"] == field
    assert client.get("/api/v1/dossiers", headers=citizen.headers).json() == []


def test_form_and_attachments_are_checked(
    app: FastAPI, client: TestClient, citizen: Account, agency: AgencyAccount
) -> None:
    dossier = _draft(client, citizen, agency)
    path = f"/api/v1/dossiers/{dossier['id']}"
    for values, field in [
        ({"colour": "red"}, "colour"),
        ({"ngay_sinh_ben_kia": "02/05/1994"}, "ngay_sinh_ben_kia"),
        ({"ngay_sinh_ben_kia": "19940502"}, "ngay_sinh_ben_kia"),
        ({"ngay_sinh_ben_kia": "1994-W18-1"}, "ngay_sinh_ben_kia"),
        ({"ket_hon_lan_thu": "Lần thứ mười"}, "ket_hon_lan_thu"),
    ]:
        refused = client.patch(f"{path}/form", headers=citizen.headers, json=values)
        assert refused.status_code == 422 and refused.json()["field"] == field
    typed = {"ho_ten_ben_kia": " Lê\u202e Văn\x00  Bình\n", "ngay_sinh_ben_kia": "1994-05-02"}
    kept = client.patch(f"{path}/form", headers=citizen.headers, json=typed)
    assert kept.status_code == 200, kept.text
    assert kept.json()["form"]["ho_ten_ben_kia"] == "Lê Văn Bình"
    register_agency(client, "STP-DN", level="province")
    record = client.post(
        "/api/v1/dossiers",
        headers=citizen.headers,
        json={"procedure": CRIMINAL_RECORD, "agency": "STP-DN"},
    )
    assert record.status_code == 201, record.text
    answer = {"muc_dich": "Xin việc\r\n\u200bBổ sung hồ sơ  \n"}
    saved = client.patch(
        f"/api/v1/dossiers/{record.json()['id']}/form", headers=citizen.headers, json=answer
    )
    assert saved.json()["form"]["muc_dich"] == "Xin việc\nBổ sung hồ sơ"
    with Session(app.state.engine) as session:
        before = session.exec(select(func.count()).select_from(Document)).one()
    wrong_type = upload(
        client, citizen, ("gplx.pdf", files.pdf()), path=f"{path}/attachments", doc_type="GPLX"
    )
    assert wrong_type.status_code == 422
    stale = upload(
        client,
        citizen,
        ("xn.pdf", files.pdf()),
        path=f"{path}/attachments",
        doc_type="XNTTHN",
        issued_on=str(TODAY - timedelta(days=400)),
    )
    assert stale.status_code == 422 and "too long ago" in stale.json()["detail"]
    with Session(app.state.engine) as session:
        assert session.exec(select(func.count()).select_from(Document)).one() == before
    assert client.delete(f"{path}/attachments/CCCD", headers=citizen.headers).status_code == 204
    after = client.get(path, headers=citizen.headers).json()
    assert ("CCCD", "none_stored") in [(m["doc_type"], m["reason"]) for m in after["missing"]]
    assert client.delete(f"{path}/attachments/CCCD", headers=citizen.headers).status_code == 404


def test_nobody_else_sees_a_dossier(
    client: TestClient, citizen: Account, agency: AgencyAccount
) -> None:
    dossier = _submitted(client, citizen, agency)
    stranger = register(client)
    other = register_agency(client, "UBND-THANHKHE")
    for method, path in [
        ("GET", ""),
        ("POST", "/submit"),
        ("POST", "/withdraw"),
        ("PATCH", "/form"),
        ("DELETE", "/attachments/CCCD"),
    ]:
        kwargs = {"json": {}} if method == "PATCH" else {}
        response = client.request(
            method, f"/api/v1/dossiers/{dossier['id']}{path}", headers=stranger.headers, **kwargs
        )
        assert response.status_code == 404, (method, path)
    assert client.get("/api/v1/agency/dossiers", headers=other.headers).json() == []
    paper = dossier["attachments"][0]["document_id"]
    for method, path, kwargs in [
        ("GET", "", {}),
        ("GET", f"/documents/{paper}/content", {}),
        ("POST", "/status", {"json": {"status": "processing"}}),
    ]:
        assert (
            client.request(
                method,
                f"/api/v1/agency/dossiers/{dossier['id']}{path}",
                headers=other.headers,
                **kwargs,
            ).status_code
            == 404
        )
    # A draft is not sent to anyone: the agency does not see it either.
    draft = _draft(client, citizen, agency)
    assert (
        client.get(f"/api/v1/agency/dossiers/{draft['id']}", headers=agency.headers).status_code
        == 404
    )


def test_supplement_round_trip_and_illegal_moves(
    client: TestClient, citizen: Account, agency: AgencyAccount
) -> None:
    dossier = _submitted(client, citizen, agency)
    status = f"/api/v1/agency/dossiers/{dossier['id']}/status"
    missing_note = client.post(status, headers=agency.headers, json={"status": "needs_supplement"})
    assert missing_note.status_code == 422
    asked = client.post(
        status,
        headers=agency.headers,
        json={"status": "needs_supplement", "note": "Thiếu giấy xác nhận cư trú"},
    )
    assert asked.json()["status"] == "needs_supplement"
    assert (
        client.post(status, headers=agency.headers, json={"status": "completed"}).status_code == 409
    )
    seen = client.get(f"/api/v1/dossiers/{dossier['id']}", headers=citizen.headers).json()
    assert seen["history"][-1]["note"] == "Thiếu giấy xác nhận cư trú"
    added = upload(
        client,
        citizen,
        ("ct07.pdf", files.pdf()),
        path=f"/api/v1/dossiers/{dossier['id']}/attachments",
        doc_type="XNCT",
        issued_on=str(TODAY),
    )
    assert added.status_code == 201, added.text
    again = client.post(f"/api/v1/dossiers/{dossier['id']}/submit", headers=citizen.headers).json()
    assert again["status"] == "submitted" and again["grant_id"] != dossier["grant_id"]
    ct07 = next(a for a in again["attachments"] if a["doc_type"] == "XNCT")
    assert (
        client.get(
            f"/api/v1/agency/dossiers/{dossier['id']}/documents/{ct07['document_id']}/content",
            headers=agency.headers,
        ).status_code
        == 200
    )
    rejected = client.post(
        status, headers=agency.headers, json={"status": "rejected", "note": "Không đủ điều kiện"}
    )
    assert rejected.json()["status"] == "rejected" and rejected.json()["closed_at"]
    assert (
        client.post(status, headers=agency.headers, json={"status": "processing"}).status_code
        == 409
    )
    assert (
        client.post(
            f"/api/v1/dossiers/{dossier['id']}/withdraw", headers=citizen.headers
        ).status_code
        == 409
    )


def test_a_paper_taken_out_while_supplementing_is_out_of_reach_at_once(
    client: TestClient, citizen: Account, agency: AgencyAccount
) -> None:
    dossier = _submitted(client, citizen, agency)
    paper = next(a for a in dossier["attachments"] if a["doc_type"] == "XNTTHN")["document_id"]
    url = f"/api/v1/agency/dossiers/{dossier['id']}/documents/{paper}/content"
    assert client.get(url, headers=agency.headers).status_code == 200
    client.post(
        f"/api/v1/agency/dossiers/{dossier['id']}/status",
        headers=agency.headers,
        json={"status": "needs_supplement", "note": "Giấy xác nhận đã cũ"},
    )
    taken_out = client.delete(
        f"/api/v1/dossiers/{dossier['id']}/attachments/XNTTHN", headers=citizen.headers
    )
    assert taken_out.status_code == 204
    assert client.get(url, headers=agency.headers).status_code == 404
    log = client.get("/api/v1/access-log", headers=citizen.headers).json()
    assert any(e["reason"] == "not_attached" and e["outcome"] == "denied" for e in log)


def test_the_agency_receives_the_version_the_dossier_checked(
    client: TestClient, citizen: Account, agency: AgencyAccount
) -> None:
    """A version uploaded after the paper was attached (here: already expired) is not what the
    agency gets; the citizen attaches it again if they mean it."""
    draft = _draft(client, citizen, agency)
    paper = next(a for a in draft["attachments"] if a["doc_type"] == "CCCD")["document_id"]
    checked = client.get(f"/api/v1/documents/{paper}/content", headers=citizen.headers).content
    newer = upload(
        client,
        citizen,
        ("cccd-moi.pdf", files.pdf(text=b"newer")),
        path=f"/api/v1/documents/{paper}/versions",
        expires_on=str(TODAY - timedelta(days=1)),
    )
    assert newer.status_code == 201, newer.text
    client.patch(f"/api/v1/dossiers/{draft['id']}/form", headers=citizen.headers, json=FORM)
    sent = client.post(f"/api/v1/dossiers/{draft['id']}/submit", headers=citizen.headers)
    assert sent.status_code == 200, sent.text
    url = f"/api/v1/agency/dossiers/{draft['id']}/documents/{paper}/content"
    received = client.get(url, headers=agency.headers)
    assert received.status_code == 200 and received.content == checked


def test_a_paper_the_procedure_no_longer_asks_for_is_not_sent(
    client: TestClient,
    citizen: Account,
    agency: AgencyAccount,
    settings: Settings,
    tmp_path: Path,
) -> None:
    """An operator re-imports the catalog while a draft waits: the draft can still be sent, and
    the paper the procedure dropped stays with the citizen."""
    draft = _draft(client, citizen, agency, filled=True)
    dropped = next(a for a in draft["attachments"] if a["doc_type"] == "CCCD")["document_id"]
    spec = client.get(f"/api/v1/procedures/{MARRIAGE}").json()
    spec["requirements"] = [r for r in spec["requirements"] if r["doc_type"] != "CCCD"]
    spec["form_fields"] = [
        f for f in spec["form_fields"] if not (f["source"] or "").startswith("paper.CCCD.")
    ]
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps({"source": "Sở Tư pháp", "procedures": [spec]}))
    imported = CliRunner().invoke(
        cli, ["procedures", "import", str(catalog)], env=settings_env(settings)
    )
    assert imported.exit_code == 0, imported.output

    sent = client.post(f"/api/v1/dossiers/{draft['id']}/submit", headers=citizen.headers)
    assert sent.status_code == 200, sent.text
    grant = client.get(f"/api/v1/grants/{sent.json()['grant_id']}", headers=citizen.headers)
    assert dropped not in grant.json()["document_ids"] and grant.json()["document_ids"]
    url = f"/api/v1/agency/dossiers/{draft['id']}/documents/{dropped}/content"
    assert client.get(url, headers=agency.headers).status_code == 404


def _outcome(dossier: dict) -> tuple[set[str], set[tuple[str, str]]]:
    return (
        {a["doc_type"] for a in dossier["attachments"]},
        {(m["doc_type"], m["reason"]) for m in dossier["missing"]},
    )


def test_a_sent_dossier_keeps_why_each_paper_was_or_was_not_sent(
    app: FastAPI,
    client: TestClient,
    citizen: Account,
    agency: AgencyAccount,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Later views show what the dossier was sent with and why the rest was not, as found on
    the day: not what the vault holds, nor what the rules would say, by then."""
    residence = {"issued_on": str(TODAY - timedelta(days=400))}
    residence["expires_on"] = str(TODAY - timedelta(days=35))
    upload(client, citizen, ("ct07.pdf", files.pdf()), doc_type="XNCT", **residence)
    draft = _draft(client, citizen, agency, filled=True)
    path = f"/api/v1/dossiers/{draft['id']}"
    found = ({"CCCD", "XNTTHN"}, {("XNCT", "expired")})
    assert _outcome(draft) == _outcome(client.get(path, headers=citizen.headers).json()) == found
    sent = client.post(f"{path}/submit", headers=citizen.headers)
    assert sent.status_code == 200, sent.text
    assert _outcome(sent.json()) == found
    card = next(a for a in sent.json()["attachments"] if a["doc_type"] == "CCCD")["document_id"]
    assert client.delete(f"/api/v1/documents/{card}", headers=citizen.headers).status_code == 204
    # Half a year on, the marital-status paper the dossier was sent with is too old to send.
    monkeypatch.setattr(days, "today", lambda: TODAY + timedelta(days=200))

    later = client.get(path, headers=citizen.headers).json()
    assert _outcome(later) == ({"XNTTHN"}, {("XNCT", "expired")})
    assert later["missing"][0]["required"] is False
    listed = client.get("/api/v1/dossiers", headers=citizen.headers).json()
    assert [_outcome(d) for d in listed] == [_outcome(later)]
    page = signed_in(app, citizen).get(f"/dossiers/{draft['id']}")
    assert page.status_code == 200
    assert page.text.count("bản trong kho đã hết hạn") == 1
    assert "chưa có trong kho" not in page.text and "cấp quá lâu" not in page.text


def test_a_completed_dossier_reads_completed_everywhere(
    app: FastAPI, client: TestClient, citizen: Account, agency: AgencyAccount
) -> None:
    """Completing a dossier ends its grant, but the citizen revoked nothing: neither the
    dossier, nor its share, nor the agency's refused fetch afterwards reads 'revoked'."""
    dossier = _submitted(client, citizen, agency)
    paper = dossier["attachments"][0]["document_id"]
    fetch = f"/api/v1/agency/dossiers/{dossier['id']}/documents/{paper}/content"
    assert client.get(fetch, headers=agency.headers).status_code == 200
    done = client.post(
        f"/api/v1/agency/dossiers/{dossier['id']}/status",
        headers=agency.headers,
        json={"status": "completed"},
    )
    assert done.status_code == 200 and done.json()["status"] == "completed"
    refused = client.get(fetch, headers=agency.headers)
    assert (refused.status_code, refused.json()["reason"]) == (410, "completed")

    h = citizen.headers
    assert (
        client.get(f"/api/v1/dossiers/{dossier['id']}", headers=h).json()["status"] == "completed"
    )
    assert [d["status"] for d in client.get("/api/v1/dossiers", headers=h).json()] == ["completed"]
    grant = client.get(f"/api/v1/grants/{dossier['grant_id']}", headers=h).json()
    assert grant["status"] == "completed" and grant["revoked_at"]
    assert [g["status"] for g in client.get("/api/v1/grants", headers=h).json()] == ["completed"]
    log = client.get("/api/v1/access-log", headers=h).json()
    assert (log[0]["outcome"], log[0]["reason"]) == ("denied", "completed")

    browser = signed_in(app, citizen)
    for page in (
        f"/dossiers/{dossier['id']}",
        "/dossiers",
        f"/shares/{dossier['grant_id']}",
        "/shares",
    ):
        html = browser.get(page).text
        assert "Đã hoàn thành" in html and "Đã thu hồi" not in html, page
    html = browser.get("/access-log").text
    assert "hồ sơ được chia sẻ để giải quyết đã hoàn thành" in html
    assert "bạn đã thu hồi" not in html


def test_withdrawal_ends_the_agency_access(
    client: TestClient, citizen: Account, agency: AgencyAccount
) -> None:
    dossier = _submitted(client, citizen, agency)
    paper = dossier["attachments"][0]["document_id"]
    url = f"/api/v1/agency/dossiers/{dossier['id']}/documents/{paper}/content"
    assert client.get(url, headers=agency.headers).status_code == 200
    withdrawn = client.post(
        f"/api/v1/dossiers/{dossier['id']}/withdraw", headers=citizen.headers
    ).json()
    assert withdrawn["status"] == "withdrawn"
    assert client.get(url, headers=agency.headers).status_code == 410
    grant = client.get(f"/api/v1/grants/{dossier['grant_id']}", headers=citizen.headers).json()
    assert grant["status"] == "revoked"
    # The agency keeps the fact and the history, not the form or the papers' details.
    seen = client.get(f"/api/v1/agency/dossiers/{dossier['id']}", headers=agency.headers).json()
    assert seen["status"] == "withdrawn" and seen["attachments"] == [] and seen["form"] == {}
    # A draft withdrawn before it was ever sent never reaches the agency.
    draft = _draft(client, citizen, agency, filled=True)
    client.post(f"/api/v1/dossiers/{draft['id']}/withdraw", headers=citizen.headers)
    path = f"/api/v1/agency/dossiers/{draft['id']}"
    assert client.get(path, headers=agency.headers).status_code == 404
    listed = client.get("/api/v1/agency/dossiers", headers=agency.headers).json()
    assert [d["id"] for d in listed] == [dossier["id"]]
    result = upload(client, agency, ("kq.pdf", files.pdf()), path=f"{path}/result")
    assert result.status_code == 404


def test_results_are_signed_pdfs(client: TestClient, citizen: Account) -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    agency = register_agency(
        client, "UBND-P256", public_key_pem=signatures.public_pem_of(private_pem)
    )
    unsigned = register_agency(client, "UBND-NOKEY")
    dossier = _submitted(client, citizen, agency)
    result = f"/api/v1/agency/dossiers/{dossier['id']}/result"
    photo = files.png()
    as_photo = upload(
        client,
        agency,
        ("kq.png", photo),
        path=result,
        doc_type="GCNKH",
        signature=base64.b64encode(
            signatures.sign(private_pem, hashlib.sha256(photo).digest())
        ).decode(),
    )
    assert as_photo.status_code == 422 and "PDF" in as_photo.json()["detail"]
    paper = files.pdf()
    signed = base64.b64encode(signatures.sign(private_pem, hashlib.sha256(paper).digest())).decode()
    no_signature = upload(client, agency, ("kq.pdf", paper), path=result, doc_type="GCNKH")
    assert no_signature.status_code == 422 and no_signature.json()["field"] == "signature"
    # Only the paper this procedure issues: not a trusted identity card or land title.
    for planted in ("CCCD", "GCNQSDD"):
        wrong = upload(
            client, agency, ("kq.pdf", paper), path=result, doc_type=planted, signature=signed
        )
        assert wrong.status_code == 422 and wrong.json()["field"] == "doc_type", planted
    assert (
        client.get("/api/v1/documents?doc_type=CCCD", headers=citizen.headers).json()[0]["trust"]
        == "self_scan"
    )
    deposited = upload(
        client, agency, ("kq.pdf", paper), path=result, doc_type="GCNKH", signature=signed
    )
    assert deposited.status_code == 201, deposited.text
    papers = len(client.get("/api/v1/documents", headers=citizen.headers).json())
    again = upload(
        client, agency, ("kq.pdf", paper), path=result, doc_type="GCNKH", signature=signed
    )
    assert again.status_code == 409
    assert len(client.get("/api/v1/documents", headers=citizen.headers).json()) == papers
    told = client.get("/api/v1/notifications", headers=citizen.headers).json()
    assert [(n["kind"], n["link"]) for n in told if n["kind"] == "result_deposited"] == [
        ("result_deposited", f"/papers/{deposited.json()['id']}")
    ]
    assert "Giấy chứng nhận kết hôn đã có trong kho giấy tờ của bạn" in told[0]["body"]
    check = client.get(
        f"/api/v1/documents/{deposited.json()['id']}/signature", headers=citizen.headers
    ).json()
    assert (check["algorithm"], check["valid"], check["key_is_current"]) == (
        "ecdsa-p256-sha256",
        True,
        True,
    )
    own = upload(client, citizen, ("x.pdf", files.pdf()), doc_type="KHAC").json()
    assert (
        client.get(f"/api/v1/documents/{own['id']}/signature", headers=citizen.headers).status_code
        == 404
    )
    other = _submitted(client, register_and_stock(client), unsigned)
    refused = upload(
        client,
        unsigned,
        ("kq.pdf", paper),
        path=f"/api/v1/agency/dossiers/{other['id']}/result",
        doc_type="GCNKH",
        signature=signed,
    )
    assert refused.status_code == 409 and "signing key" in refused.json()["detail"]
    # Once, even after the citizen deleted it: the agency cannot plant it again, unannounced.
    gone = client.delete(f"/api/v1/documents/{deposited.json()['id']}", headers=citizen.headers)
    assert gone.status_code == 204
    after_delete = upload(
        client, agency, ("kq.pdf", paper), path=result, doc_type="GCNKH", signature=signed
    )
    assert after_delete.status_code == 409, after_delete.text
    assert "once" in after_delete.json()["detail"]
    held = client.get("/api/v1/documents", headers=citizen.headers).json()
    assert [p for p in held if p["doc_type"] == "GCNKH"] == []


def register_and_stock(client: TestClient) -> Account:
    account = register(client)
    upload(client, account, ("cccd.pdf", files.pdf()), doc_type="CCCD")
    upload(client, account, ("xn.pdf", files.pdf()), doc_type="XNTTHN", issued_on=str(TODAY))
    return account


def test_a_form_edit_holds_the_dossier_so_the_agency_closing_it_waits(
    client: TestClient, citizen: Account, agency: AgencyAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The citizen's edit takes the dossier's row before it checks that the dossier is theirs
    to edit, and keeps it to its commit: a rejection arriving meanwhile waits, so a closed
    dossier's form or papers never change after the fact."""
    dossier = _submitted(client, citizen, agency)
    moved = f"/api/v1/agency/dossiers/{dossier['id']}/status"
    back = {"status": "needs_supplement", "note": "Thiếu giấy tờ"}
    assert client.post(moved, headers=agency.headers, json=back).status_code == 200
    editing, go_on = threading.Event(), threading.Event()
    form_of = workflow.form_of

    def held(*args: Any) -> Any:
        if not editing.is_set():  # the edit's own read of the form; others pass
            editing.set()
            go_on.wait(30)
        return form_of(*args)

    monkeypatch.setattr(workflow, "form_of", held)
    answers: dict[str, Any] = {}
    edit = {"ho_ten_ben_kia": "Lê Văn Bính"}
    form = f"/api/v1/dossiers/{dossier['id']}/form"
    citizen_side = threading.Thread(
        target=lambda: answers.update(edit=client.patch(form, headers=citizen.headers, json=edit))
    )
    citizen_side.start()
    assert editing.wait(30)
    closed = {"status": "rejected", "note": "Không đủ điều kiện"}
    agency_side = threading.Thread(
        target=lambda: answers.update(close=client.post(moved, headers=agency.headers, json=closed))
    )
    agency_side.start()
    time.sleep(1)
    waited = "close" not in answers
    go_on.set()
    citizen_side.join(30)
    agency_side.join(30)
    assert waited, answers["close"].text
    assert answers["edit"].status_code == 200, answers["edit"].text
    assert answers["close"].status_code == 200, answers["close"].text
    seen = client.get(f"/api/v1/agency/dossiers/{dossier['id']}", headers=agency.headers).json()
    assert (seen["status"], seen["form"]["ho_ten_ben_kia"]) == ("rejected", "Lê Văn Bính")
    late = client.patch(form, headers=citizen.headers, json={"ho_ten_ben_kia": "Sau khi đóng"})
    assert late.status_code == 409
