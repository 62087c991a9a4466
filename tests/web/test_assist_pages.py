"""Assisted service as pages: the counter asks, the citizen types their password on the
consent screen, the officer works under the banner and ends it; the citizen answers requests
and reads the history on their own pages."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.support.api import PASSWORD, Account, AgencyAccount, register, register_agency
from tests.support.assist import OfficerAccount, ask, register_officer
from tests.support.files import png
from tests.support.pages import counter_signed_in, post_form, signed_in
from vault import db
from vault.assist import agency_keys

pytestmark = pytest.mark.journey  # whole journeys: the full tier, not the edit loop

REQUEST_PAGE = re.compile(r"^/agency/assist/([0-9a-f-]{36})$")


@pytest.fixture
def agency(client: TestClient) -> AgencyAccount:
    return register_agency(client, "UBND-HAICHAU", "UBND phường Hải Châu")


@pytest.fixture
def officer(client: TestClient, agency: AgencyAccount) -> OfficerAccount:
    return register_officer(client, agency.code, full_name="Trần Văn Bình")


@pytest.fixture
def citizen(client: TestClient) -> Account:
    return register(client, full_name="Nguyễn Thị Lan")


def _request_at_counter(desk: TestClient, citizen: Account, *scopes: str) -> str:
    fields: dict[str, str | list[str]] = {
        "national_id": citizen.national_id,
        "identity_check": "chip_card",
        "minutes": "30",
        "scopes": list(scopes),
    }
    found = re.search(r'name="csrf" value="([^"]+)"', desk.get("/agency/assist").text)
    assert found
    answer = desk.post("/agency/assist", data={"csrf": found.group(1), **fields})
    assert answer.status_code == 303, answer.text
    matched = REQUEST_PAGE.match(answer.headers["location"])
    assert matched
    return matched.group(1)


def test_the_counter_journey_under_the_banner(
    app: FastAPI, client: TestClient, officer: OfficerAccount, citizen: Account
) -> None:
    desk = counter_signed_in(app, officer.username, officer.password)
    request_id = _request_at_counter(desk, citizen, "documents:read", "documents:write")
    waiting = desk.get(f"/agency/assist/{request_id}").text
    assert "Nguyễn T** L**" in waiting and "Đang chờ công dân" in waiting
    screen = f"/agency/assist/{request_id}/consent"
    consent = desk.get(screen).text
    assert "Cán bộ Trần Văn Bình, UBND phường Hải Châu, xin được làm thay" in consent
    assert "Tải lên, thay hoặc xoá giấy tờ" in consent

    wrong = post_form(desk, screen, screen, password="không phải")
    assert wrong.status_code == 403
    assert "Mật khẩu chưa đúng" in wrong.text and "Còn 4 lần thử" in wrong.text
    # No session can start yet.
    refused = post_form(desk, f"/agency/assist/{request_id}", f"/agency/assist/{request_id}/start")
    assert refused.status_code == 409

    right = post_form(desk, screen, screen, password=PASSWORD)
    assert right.headers["location"] == f"/agency/assist/{request_id}?approved=1"
    started = post_form(desk, f"/agency/assist/{request_id}", f"/agency/assist/{request_id}/start")
    assert started.status_code == 303 and "vault_acting" in started.headers["set-cookie"]

    home = desk.get("/").text
    assert "Bạn đang làm thay cho Nguyễn Thị Lan — còn 30 phút" in home
    assert 'href="/profile"' not in home and 'href="/access-log"' not in home
    found = re.search(r'name="csrf" value="([^"]+)"', desk.get("/papers/new").text)
    assert found
    uploaded = desk.post(
        "/papers",
        data={"csrf": found.group(1), "doc_type": "GKS"},
        files=[("file", ("khai-sinh.png", png(), "image/png"))],
    )
    assert uploaded.status_code == 303, uploaded.text
    # The officer has seen the original: certified from the paper's page, with the agency's key.
    with db.unit_of_work(app.state.engine) as session:
        agency_keys.make_certify_key(session, app.state.backend.keyring, officer.agency)
    paper_page = uploaded.headers["location"].split("?")[0]
    assert "Chứng thực bản sao từ bản chính" in desk.get(paper_page).text
    version = re.search(r'name="version" value="(\d+)"', desk.get(paper_page).text)
    assert version
    certified = post_form(desk, paper_page, f"{paper_page}/certify", version=version.group(1))
    assert certified.headers["location"] == f"{paper_page}?certified=1"
    assert "Bản sao có chứng thực" in desk.get(paper_page).text
    # The account itself is never within reach.
    assert desk.get("/profile").status_code == 403
    assert "người làm thay không được phép" in desk.get("/notifications").text
    assert desk.get("/shares").status_code == 403

    ended = post_form(desk, "/", "/assist/end")
    assert ended.headers["location"] == "/agency/assist?ended=1"
    assert ended.headers["clear-site-data"] == '"storage"'  # the citizen's unfinished uploads
    # The browser forgets the token and the server has ended it.
    assert desk.get("/papers/new").status_code == 303
    assert post_form(desk, "/agency", "/agency/logout").headers["clear-site-data"] == '"storage"'

    own = signed_in(app, citizen)
    history = own.get("/assist/history").text
    assert "Cán bộ Trần Văn Bình, UBND phường Hải Châu, đã tải lên Giấy khai sinh" in history
    assert "đã chứng thực Giấy khai sinh" in history
    assert "Người làm thay đã kết thúc phiên này" in history


def test_the_citizen_answers_on_their_own_pages(
    app: FastAPI, client: TestClient, officer: OfficerAccount, citizen: Account
) -> None:
    first = ask(client, officer, citizen, ("documents:read",))
    second = ask(client, officer, citizen, ("documents:read", "grants:write"))
    own = signed_in(app, citizen)
    assert "Có 2 yêu cầu làm thay đang chờ bạn trả lời" in own.get("/").text
    page = own.get("/assist/requests").text
    assert "Cán bộ Trần Văn Bình (UBND phường Hải Châu) xin được làm thay cho bạn" in page
    approved = post_form(own, "/assist/requests", f"/assist/requests/{first}/approve")
    assert approved.headers["location"] == "/assist/requests?approved=1"
    declined = post_form(own, "/assist/requests", f"/assist/requests/{second}/decline")
    assert declined.status_code == 303
    statuses = {
        r: client.get(f"/api/v1/assist/requests/{r}", headers=officer.headers).json()["status"]
        for r in (first, second)
    }
    assert statuses == {first: "approved", second: "declined"}
    assert "yêu cầu làm thay đang chờ" not in own.get("/").text


def test_the_citizen_ends_a_live_session_from_the_history(
    app: FastAPI, client: TestClient, officer: OfficerAccount, citizen: Account
) -> None:
    request_id = ask(client, officer, citizen, ("documents:read",))
    client.post(f"/api/v1/assist/requests/{request_id}/approve", headers=citizen.headers)
    opened = client.post(
        f"/api/v1/assist/requests/{request_id}/session", headers=officer.headers
    ).json()
    token = {"Authorization": f"Bearer {opened['access_token']}"}
    own = signed_in(app, citizen)
    assert "Kết thúc ngay" in own.get("/assist/history").text
    ended = post_form(own, "/assist/history", f"/assist/sessions/{opened['id']}/end")
    assert ended.headers["location"] == "/assist/history?ended=1"
    assert client.get("/api/v1/documents", headers=token).status_code == 401
    assert "Bạn đã kết thúc phiên này" in own.get("/assist/history").text


def test_the_counter_gives_a_reset_code_shown_once(
    app: FastAPI, client: TestClient, officer: OfficerAccount, citizen: Account
) -> None:
    desk = counter_signed_in(app, officer.username, officer.password)
    assert 'href="/agency/assist/reset"' in desk.get("/agency").text
    given = post_form(
        desk,
        "/agency/assist/reset",
        "/agency/assist/reset",
        national_id=citizen.national_id,
        identity_check="chip_card",
    )
    assert given.status_code == 200
    code = re.search(r"<p class=\"reset-code\" data-code>([A-Z0-9]{8})</p>", given.text)
    assert code, given.text
    new_password = "mật khẩu mới đủ dài"
    reset = client.post(
        "/api/v1/auth/reset",
        json={
            "national_id": citizen.national_id,
            "reset_code": code.group(1),
            "new_password": new_password,
        },
    )
    assert reset.status_code == 204
    assert client.get("/api/v1/documents", headers=citizen.headers).status_code == 401
    unknown = post_form(
        desk,
        "/agency/assist/reset",
        "/agency/assist/reset",
        national_id="048099000001",
        identity_check="chip_card",
    )
    assert unknown.status_code == 404
