"""Share grants through the HTTP API: what the citizen controls and what the agency reaches."""

import io
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import zxingcpp
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import update
from sqlmodel import Session, col, select

from tests.conftest import Stack
from tests.support import files
from tests.support.api import Account, AgencyAccount, register, register_agency, share, upload
from vault import db
from vault.sharing.models import Grant


@pytest.fixture
def citizen(client: TestClient) -> Account:
    return register(client, full_name="Trần Thị Mai")


@pytest.fixture
def agency(client: TestClient) -> AgencyAccount:
    return register_agency(client, "UBND-HAICHAU", "UBND phường Hải Châu")


@pytest.fixture
def other_agency(client: TestClient) -> AgencyAccount:
    return register_agency(client, "UBND-THANHKHE", "UBND phường Thanh Khê")


@pytest.fixture
def paper(client: TestClient, citizen: Account) -> dict:
    return upload(
        client, citizen, ("khai-sinh.pdf", files.pdf()), doc_type="GKS", title="Khai sinh"
    ).json()


def shared(agency: AgencyAccount, token: str, document_id: str | None = None) -> str:
    path = f"/api/v1/shared/{token}"
    return path if document_id is None else f"{path}/documents/{document_id}/content"


def test_citizen_shares_and_agency_downloads_exactly_that(
    client: TestClient, citizen: Account, agency: AgencyAccount, paper: dict
) -> None:
    data = client.get(f"/api/v1/documents/{paper['id']}/content", headers=citizen.headers).content
    created = share(client, citizen, agency.code, paper["id"], expires_in_days=3, max_uses=5)
    assert created.status_code == 201, created.text
    grant = created.json()
    assert grant["agency"] == agency.code and grant["document_ids"] == [paper["id"]]
    assert grant["status"] == "active" and (grant["uses"], grant["max_uses"]) == (0, 5)
    assert grant["share_url"] == f"http://localhost:8000/agency/share/{grant['token']}"
    assert len(grant["token"]) >= 43

    opened = client.get(shared(agency, grant["token"]), headers=agency.headers)
    assert opened.status_code == 200, opened.text
    view = opened.json()
    assert view["purpose"] == "Đăng ký kết hôn"
    assert view["citizen"] == {"full_name": "Trần Thị Mai", "national_id": citizen.national_id}
    assert [(p["id"], p["doc_type"], p["title"]) for p in view["papers"]] == [
        (paper["id"], "GKS", "Khai sinh")
    ]

    fetched = client.get(shared(agency, grant["token"], paper["id"]), headers=agency.headers)
    assert fetched.status_code == 200
    assert fetched.content == data
    assert fetched.headers["x-content-type-options"] == "nosniff"

    listed = client.get("/api/v1/grants", headers=citizen.headers).json()
    assert [g["id"] for g in listed] == [grant["id"]] and listed[0]["uses"] == 1
    assert "token" not in listed[0] and "share_url" not in listed[0]
    one = client.get(f"/api/v1/grants/{grant['id']}", headers=citizen.headers).json()
    assert "token" not in one and one["uses"] == 1


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"purpose": "   "}, 422, "purpose"),
        ({"purpose": "\u200b\u202e\x00"}, 422, "purpose"),
        ({"expires_in_days": 91}, 422, "expires_in_days"),
        ({"expires_in_days": 0}, 422, "expires_in_days"),
        ({"max_uses": 0}, 422, "max_uses"),
        ({"max_uses": 2**63}, 422, "max_uses"),
        ({"agency": "NO-SUCH"}, 422, "agency"),
    ],
)
def test_invalid_grants_are_refused(
    client: TestClient,
    citizen: Account,
    agency: AgencyAccount,
    paper: dict,
    change: dict,
    status: int,
    field: str,
) -> None:
    body = {"agency": agency.code, "document_ids": [paper["id"]], "purpose": "Hồ sơ", **change}
    response = client.post("/api/v1/grants", headers=citizen.headers, json=body)
    assert response.status_code == status, response.text
    assert response.json()["field"] == field
    assert client.get("/api/v1/grants", headers=citizen.headers).json() == []


@pytest.mark.parametrize("change", [{"purpose": "\ud800"}, {"agency": "\udc00"}])
def test_text_that_is_not_unicode_is_422(
    client: TestClient, citizen: Account, agency: AgencyAccount, paper: dict, change: dict
) -> None:
    body = {"agency": agency.code, "document_ids": [paper["id"]], "purpose": "Hồ sơ"}
    raw = json.dumps(body | change)  # json.dumps escapes the lone surrogate as \ud800
    response = client.post(
        "/api/v1/grants",
        headers={**citizen.headers, "Content-Type": "application/json"},
        content=raw,
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert client.get("/api/v1/grants", headers=citizen.headers).json() == []


def test_sharing_someone_elses_paper_is_404(
    client: TestClient, citizen: Account, agency: AgencyAccount
) -> None:
    stranger = register(client)
    theirs = upload(client, stranger, ("x.pdf", files.pdf())).json()
    assert share(client, citizen, agency.code, theirs["id"]).status_code == 404
    assert share(client, citizen, agency.code, str(uuid.uuid4())).status_code == 404


def test_disabled_agency_cannot_be_chosen_nor_reach(
    client: TestClient, citizen: Account, agency: AgencyAccount, paper: dict
) -> None:
    token = share(client, citizen, agency.code, paper["id"]).json()["token"]
    from vault import agencies

    with db.unit_of_work(client.app.state.engine) as session:  # type: ignore[attr-defined]
        agencies.disable(session, agency.code)
    assert share(client, citizen, agency.code, paper["id"]).status_code == 422
    assert client.get(shared(agency, token), headers=agency.headers).status_code == 401


def test_outcomes_of_every_refusal(
    client: TestClient,
    citizen: Account,
    agency: AgencyAccount,
    other_agency: AgencyAccount,
    paper: dict,
) -> None:
    other_paper = upload(client, citizen, ("other.pdf", files.pdf())).json()
    token = share(client, citizen, agency.code, paper["id"]).json()["token"]
    cases = [
        (shared(agency, token, paper["id"]), {}, 401),
        (shared(agency, token, paper["id"]), {"Authorization": "Bearer forged"}, 401),
        (shared(agency, token, paper["id"]), citizen.headers, 401),
        (shared(agency, token, paper["id"]), other_agency.headers, 403),
        (shared(agency, "x" * 43, paper["id"]), agency.headers, 404),
        (shared(agency, token, other_paper["id"]), agency.headers, 404),
        (shared(agency, token), other_agency.headers, 403),
    ]
    for path, headers, status in cases:
        response = client.get(path, headers=headers)
        assert response.status_code == status, (path, headers, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    # Agency tokens are no good on citizen routes either.
    assert client.get("/api/v1/documents", headers=agency.headers).status_code == 401
    assert client.get(shared(agency, token, paper["id"]), headers=agency.headers).status_code == 200


def test_revoked_then_fetched_in_the_same_second_is_410(
    client: TestClient, citizen: Account, agency: AgencyAccount, paper: dict
) -> None:
    grant = share(client, citizen, agency.code, paper["id"]).json()
    assert (
        client.get(shared(agency, grant["token"], paper["id"]), headers=agency.headers).status_code
        == 200
    )
    assert (
        client.delete(f"/api/v1/grants/{grant['id']}", headers=citizen.headers).status_code == 204
    )
    refused = client.get(shared(agency, grant["token"], paper["id"]), headers=agency.headers)
    assert refused.status_code == 410
    assert refused.json()["reason"] == "revoked" and "revoked" in refused.json()["detail"]
    assert client.get(shared(agency, grant["token"]), headers=agency.headers).status_code == 410
    assert (
        client.delete(f"/api/v1/grants/{grant['id']}", headers=citizen.headers).status_code == 204
    )
    state = client.get(f"/api/v1/grants/{grant['id']}", headers=citizen.headers).json()
    assert (state["status"], state["uses"]) == ("revoked", 1)


@pytest.mark.parametrize("stack", [Stack("postgresql", "file")], indirect=True, ids=str)
def test_a_revocation_committed_while_the_share_is_opening_is_honoured(
    app: FastAPI, client: TestClient, citizen: Account, agency: AgencyAccount, paper: dict
) -> None:
    """The share page (no use counted) read the grant as live, but the citizen's revocation
    commits before the page is sent: the page is refused and audited as such."""
    grant = share(client, citizen, agency.code, paper["id"]).json()
    with app.state.engine.connect() as revoking, ThreadPoolExecutor(1) as pool:
        revoking.execute(
            update(Grant)
            .where(col(Grant.id) == uuid.UUID(grant["id"]))
            .values(revoked_at=db.utc_now())
        )
        opening = pool.submit(client.get, shared(agency, grant["token"]), headers=agency.headers)
        time.sleep(0.5)  # the request reads the grant, still live, then waits for its row
        revoking.commit()
        answer = opening.result(timeout=30)
    assert answer.status_code == 410 and answer.json()["reason"] == "revoked"
    log = client.get("/api/v1/access-log", headers=citizen.headers).json()
    assert [(e["outcome"], e["reason"]) for e in log if e["grant_id"] == grant["id"]][0] == (
        "denied",
        "revoked",
    )


def test_expired_grant_is_410(
    app: FastAPI, client: TestClient, citizen: Account, agency: AgencyAccount, paper: dict
) -> None:
    grant = share(client, citizen, agency.code, paper["id"]).json()
    with Session(app.state.engine) as session:
        session.execute(
            update(Grant)
            .where(col(Grant.id) == uuid.UUID(grant["id"]))
            .values(expires_at=db.utc_now() - timedelta(seconds=1))
        )
        session.commit()
    refused = client.get(shared(agency, grant["token"], paper["id"]), headers=agency.headers)
    assert (refused.status_code, refused.json()["reason"]) == (410, "expired")
    assert (
        client.get(f"/api/v1/grants/{grant['id']}", headers=citizen.headers).json()["status"]
        == "expired"
    )


def test_used_up_grant_is_410(
    client: TestClient, citizen: Account, agency: AgencyAccount, paper: dict
) -> None:
    grant = share(client, citizen, agency.code, paper["id"], max_uses=1).json()
    assert (
        client.get(shared(agency, grant["token"], paper["id"]), headers=agency.headers).status_code
        == 200
    )
    refused = client.get(shared(agency, grant["token"], paper["id"]), headers=agency.headers)
    assert (refused.status_code, refused.json()["reason"]) == (410, "used_up")
    assert (
        client.get(f"/api/v1/grants/{grant['id']}", headers=citizen.headers).json()["status"]
        == "used_up"
    )


def test_a_newer_version_is_not_shared_and_a_deleted_paper_leaves_every_grant(
    client: TestClient, citizen: Account, agency: AgencyAccount, paper: dict
) -> None:
    first = client.get(f"/api/v1/documents/{paper['id']}/content", headers=citizen.headers).content
    token = share(client, citizen, agency.code, paper["id"]).json()["token"]
    newer = upload(
        client,
        citizen,
        ("new.pdf", files.pdf(text=b"new")),
        path=f"/api/v1/documents/{paper['id']}/versions",
    )
    assert newer.status_code == 201
    assert client.get(shared(agency, token, paper["id"]), headers=agency.headers).content == first
    assert (
        client.get(shared(agency, token), headers=agency.headers).json()["papers"][0]["version"]
        == 1
    )

    assert (
        client.delete(f"/api/v1/documents/{paper['id']}", headers=citizen.headers).status_code
        == 204
    )
    assert client.get(shared(agency, token), headers=agency.headers).json()["papers"] == []
    assert client.get(shared(agency, token, paper["id"]), headers=agency.headers).status_code == 404


def test_qr_code_decodes_to_the_share_link(
    client: TestClient, citizen: Account, agency: AgencyAccount, paper: dict
) -> None:
    grant = share(client, citizen, agency.code, paper["id"]).json()
    qr = client.get(f"/api/v1/grants/{grant['id']}/qr", headers=citizen.headers)
    assert qr.status_code == 200 and qr.headers["content-type"] == "image/png"
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.content)))
    assert [code.text for code in decoded] == [grant["share_url"]]
    stranger = register(client)
    assert (
        client.get(f"/api/v1/grants/{grant['id']}/qr", headers=stranger.headers).status_code == 404
    )


def test_watermarked_copy_is_stamped(
    client: TestClient, citizen: Account, agency: AgencyAccount
) -> None:
    photo = upload(
        client, citizen, ("cccd.png", files.png(size=(900, 600), colour="white")), doc_type="CCCD"
    ).json()
    scan = upload(client, citizen, ("gks.pdf", files.pdf(pages=2))).json()
    token = share(client, citizen, agency.code, photo["id"], scan["id"]).json()["token"]
    stamped = client.get(
        shared(agency, token, photo["id"]) + "?watermark=1", headers=agency.headers
    )
    assert stamped.status_code == 200 and stamped.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(stamped.content)) as image:
        assert image.size == (900, 600)
        pixels = image.convert("RGB").get_flattened_data()
        reds = sum(1 for r, g, b in pixels if r - g > 50 and r - b > 50)
    assert reds > 2000  # the stamp is across the page
    assert "UBND-HAICHAU" in stamped.headers["content-disposition"]
    pdf = client.get(shared(agency, token, scan["id"]) + "?watermark=1", headers=agency.headers)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    import pikepdf

    with pikepdf.open(io.BytesIO(pdf.content)) as document:
        assert len(document.pages) == 2


def test_access_log_shows_who_opened_what_newest_first(
    client: TestClient,
    citizen: Account,
    agency: AgencyAccount,
    other_agency: AgencyAccount,
    paper: dict,
) -> None:
    grant = share(client, citizen, agency.code, paper["id"], max_uses=1).json()
    client.get(shared(agency, grant["token"]), headers=agency.headers)
    client.get(shared(agency, grant["token"], paper["id"]), headers=agency.headers)
    client.get(shared(agency, grant["token"], paper["id"]), headers=agency.headers)  # used up
    client.get(
        shared(agency, grant["token"], paper["id"]), headers=other_agency.headers
    )  # wrong agency
    log = client.get("/api/v1/access-log", headers=citizen.headers).json()
    assert [(e["action"], e["outcome"], e["reason"], e["agency"]["code"]) for e in log] == [
        ("share.download", "denied", "wrong_agency", other_agency.code),
        ("share.download", "denied", "used_up", agency.code),
        ("share.download", "success", None, agency.code),
        ("share.open", "success", None, agency.code),
    ]
    assert all(e["grant_id"] == grant["id"] and e["purpose"] == "Đăng ký kết hôn" for e in log)
    assert log[2]["document_id"] == paper["id"] and log[2]["doc_type"] == "GKS"
    assert (
        register(client)
        and client.get("/api/v1/access-log", headers=register(client).headers).json() == []
    )


def test_anonymous_refusals_are_audited_up_to_a_rate_then_throttled(
    app: FastAPI, client: TestClient, citizen: Account, agency: AgencyAccount, paper: dict
) -> None:
    from vault.audit.models import AuditEvent

    allowed = app.state.settings.anonymous_per_minute
    token = share(client, citizen, agency.code, paper["id"]).json()["token"]
    statuses = [
        client.get(shared(agency, token, paper["id"])).status_code for _ in range(allowed + 5)
    ]
    assert statuses == [401] * allowed + [429] * 5
    throttled = client.get(shared(agency, token, paper["id"]))
    assert throttled.status_code == 429 and 0 < int(throttled.headers["retry-after"]) <= 60
    with Session(app.state.engine) as session:
        events = session.exec(
            select(AuditEvent).where(AuditEvent.action == "agency.unauthenticated")
        ).all()
    assert len(events) == allowed
    # The agency with its credentials is not held back by someone else's noise.
    assert client.get(shared(agency, token, paper["id"]), headers=agency.headers).status_code == 200
