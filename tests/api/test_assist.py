"""Acting for a citizen at the counter, through the real API: nothing without the citizen's
consent, nothing outside the scopes given, never the account itself, an ended session is dead
at once, and the citizen sees who did what."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from tests.support.api import PASSWORD, Account, AgencyAccount, register, register_agency, upload
from tests.support.assist import OfficerAccount, ask, open_acting, register_officer
from tests.support.files import png
from vault import db, queue
from vault.accounts.models import ActingSession
from vault.audit.models import AuditEvent
from vault.jobs import tasks
from vault.jobs.work import Work
from vault.settings import Settings

REQUESTS = "/api/v1/assist/requests"
SESSIONS = "/api/v1/assist/sessions"


@pytest.fixture
def agency(client: TestClient) -> AgencyAccount:
    return register_agency(client, "UBND-HAICHAU", "UBND phường Hải Châu")


@pytest.fixture
def officer(client: TestClient, agency: AgencyAccount) -> OfficerAccount:
    return register_officer(client, agency.code, full_name="Trần Văn Bình")


@pytest.fixture
def citizen(client: TestClient) -> Account:
    return register(client, full_name="Nguyễn Thị Lan")


def events(client: TestClient, citizen: Account) -> list[AuditEvent]:
    with db.unit_of_work(client.app.state.engine, writes=False) as session:  # type: ignore[attr-defined]
        return list(
            session.exec(
                select(AuditEvent)
                .where(AuditEvent.chain == citizen.id)
                .order_by(col(AuditEvent.seq))
            )
        )


def test_tokens_are_not_interchangeable(
    client: TestClient, officer: OfficerAccount, agency: AgencyAccount, citizen: Account
) -> None:
    body = {
        "national_id": citizen.national_id,
        "scopes": ["documents:read"],
        "identity_check": "chip_card",
    }
    for headers in (citizen.headers, agency.headers, {}):
        assert client.post(REQUESTS, headers=headers, json=body).status_code == 401
    # The officer's token opens neither the citizen's routes nor the agency's.
    assert client.get("/api/v1/documents", headers=officer.headers).status_code == 401
    assert client.get("/api/v1/agency/dossiers", headers=officer.headers).status_code == 401
    me = client.get("/api/v1/officer/me", headers=officer.headers)
    assert me.json() == {
        "username": officer.username,
        "name": "Trần Văn Bình",
        "agency": {"code": "UBND-HAICHAU", "name": "UBND phường Hải Châu"},
    }
    for headers in (citizen.headers, agency.headers):
        assert client.get("/api/v1/officer/me", headers=headers).status_code == 401


def test_a_request_names_the_citizen_masked_and_opens_nothing_without_consent(
    client: TestClient, officer: OfficerAccount, citizen: Account
) -> None:
    asked = client.post(
        REQUESTS,
        headers=officer.headers,
        json={
            "national_id": citizen.national_id,
            "scopes": ["documents:read"],
            "identity_check": "card_photo",
            "note": "Đăng ký kết hôn",
        },
    )
    assert asked.status_code == 201, asked.text
    created = asked.json()
    assert created["status"] == "pending"
    assert created["citizen_name_masked"] == "Nguyễn T** L**"
    request_id = created["id"]
    # Not approved: the officer cannot open a session, whatever they try.
    assert (
        client.post(f"{REQUESTS}/{request_id}/session", headers=officer.headers).status_code == 409
    )
    assert (
        client.post(f"{REQUESTS}/{request_id}/approve", headers=officer.headers).status_code == 422
    )
    assert not _sessions_in_db(client)
    # The citizen sees what waits for them, with who asks and for what.
    pending = client.get(REQUESTS, headers=citizen.headers).json()
    assert [p["id"] for p in pending] == [request_id]
    assert pending[0]["officer"]["name"] == "Trần Văn Bình"
    assert pending[0]["officer"]["agency"]["name"] == "UBND phường Hải Châu"
    assert pending[0]["scopes"] == ["documents:read"]
    assert pending[0]["minutes"] == 30
    assert pending[0]["note"] == "Đăng ký kết hôn"
    # Declined: nothing opens, ever.
    declined = client.post(f"{REQUESTS}/{request_id}/decline", headers=citizen.headers)
    assert declined.json()["status"] == "declined"
    assert (
        client.post(f"{REQUESTS}/{request_id}/session", headers=officer.headers).status_code == 409
    )
    assert client.get(REQUESTS, headers=citizen.headers).json() == []


def test_bad_requests_are_refused(
    client: TestClient, officer: OfficerAccount, citizen: Account
) -> None:
    base = {
        "national_id": citizen.national_id,
        "scopes": ["documents:read"],
        "identity_check": "chip_card",
    }
    for change in (
        {"minutes": 61},
        {"minutes": 0},
        {"scopes": []},
        {"scopes": ["account:delete"]},
        # Sharing or filing shows papers: the consent must say documents:read too.
        {"scopes": ["grants:write"]},
        {"scopes": ["dossiers:write", "documents:write"]},
        {"identity_check": "looked_at_them"},
    ):
        assert client.post(REQUESTS, headers=officer.headers, json=base | change).status_code == 422
    unknown = base | {"national_id": "048099000001"}
    assert client.post(REQUESTS, headers=officer.headers, json=unknown).status_code == 404


def test_consent_on_the_counter_screen_takes_the_citizens_own_password(
    client: TestClient, officer: OfficerAccount, citizen: Account, agency: AgencyAccount
) -> None:
    request_id = ask(client, officer, citizen, ("documents:read",))
    approve = f"{REQUESTS}/{request_id}/approve"
    wrong = client.post(approve, headers=officer.headers, json={"password": "not hers"})
    assert wrong.status_code == 403
    assert wrong.json()["type"] == "/problems/wrong-password"
    assert wrong.json()["tries_left"] == 4
    # A colleague, even of the same agency, cannot use another officer's request.
    colleague = register_officer(client, agency.code, full_name="Lê Thị Hoa")
    assert (
        client.post(approve, headers=colleague.headers, json={"password": PASSWORD}).status_code
        == 404
    )
    right = client.post(approve, headers=officer.headers, json={"password": PASSWORD})
    assert right.status_code == 200, right.text
    assert right.json()["status"] == "approved"
    opened = client.post(f"{REQUESTS}/{request_id}/session", headers=officer.headers)
    assert opened.status_code == 201
    assert opened.json()["scopes"] == ["documents:read"]
    # One session per consent.
    assert (
        client.post(f"{REQUESTS}/{request_id}/session", headers=officer.headers).status_code == 409
    )
    consent = [e for e in events(client, citizen) if e.action == "assist.approve"]
    assert json.loads(consent[0].details)["consent"] == "counter_password"


def test_five_wrong_passwords_end_the_request(
    client: TestClient, officer: OfficerAccount, citizen: Account
) -> None:
    request_id = ask(client, officer, citizen)
    approve = f"{REQUESTS}/{request_id}/approve"
    statuses = [
        client.post(approve, headers=officer.headers, json={"password": f"guess {n}"}).status_code
        for n in range(5)
    ]
    assert statuses == [403, 403, 403, 403, 429]
    # Closed for good: the right password changes nothing, and costs the account no try.
    after = client.post(approve, headers=officer.headers, json={"password": PASSWORD})
    assert after.status_code == 409
    assert (
        client.get(f"{REQUESTS}/{request_id}", headers=officer.headers).json()["status"] == "locked"
    )
    # The citizen's own answer cannot revive it either.
    assert client.post(approve, headers=citizen.headers).status_code == 409
    denied = [e for e in events(client, citizen) if e.action == "assist.consent_failed"]
    assert len(denied) == 5 and all(e.actor_id == officer.username for e in denied)


def test_the_acting_token_works_within_its_scopes_only(
    client: TestClient, officer: OfficerAccount, citizen: Account
) -> None:
    paper = upload(client, citizen, ("khai-sinh.png", png())).json()
    reading = open_acting(client, officer, citizen, ("documents:read",))
    assert client.get("/api/v1/documents", headers=reading.headers).status_code == 200
    content = client.get(f"/api/v1/documents/{paper['id']}/content", headers=reading.headers)
    assert content.status_code == 200
    outside = [
        upload(client, Account(citizen.national_id, reading.headers, citizen.id), ("a.png", png())),
        client.delete(f"/api/v1/documents/{paper['id']}", headers=reading.headers),
        client.get("/api/v1/grants", headers=reading.headers),
        client.post("/api/v1/grants", headers=reading.headers, json={}),
        client.get("/api/v1/dossiers", headers=reading.headers),
    ]
    assert [r.status_code for r in outside] == [403] * len(outside)
    assert "documents:write" in outside[0].json()["detail"]
    assert {r.json()["type"] for r in outside} == {"/problems/not-while-acting"}


def test_an_acting_token_never_reaches_the_account(
    client: TestClient, officer: OfficerAccount, citizen: Account
) -> None:
    every_scope = ("documents:read", "documents:write", "grants:write", "dossiers:write")
    token = open_acting(client, officer, citizen, every_scope)
    other_request = ask(client, officer, citizen)
    forbidden = [
        client.patch("/api/v1/citizens/me", headers=token.headers, json={"phone": "0905000111"}),
        client.delete("/api/v1/citizens/me", headers=token.headers),
        client.get("/api/v1/citizens/me", headers=token.headers),
        client.put(
            "/api/v1/citizens/me/notifications",
            headers=token.headers,
            json={"email": "ke-gian@example.com"},
        ),
        client.get("/api/v1/notifications", headers=token.headers),
        client.get("/api/v1/access-log", headers=token.headers),
        client.get(REQUESTS, headers=token.headers),
        client.post(f"{REQUESTS}/{other_request}/approve", headers=token.headers),
        client.post(f"{REQUESTS}/{other_request}/decline", headers=token.headers),
        client.get(SESSIONS, headers=token.headers),
    ]
    current = client.get(f"{SESSIONS}/current", headers=token.headers)
    assert current.status_code == 200
    assert current.json()["citizen_name"] == "Nguyễn Thị Lan"
    forbidden.append(client.post("/api/v1/auth/logout", headers=token.headers))
    codes = [r.status_code for r in forbidden[:-1]]
    assert all(code == 403 for code in codes), codes
    # Logging out with an acting token ends that session, and only it.
    assert forbidden[-1].status_code == 204
    assert client.get(f"{SESSIONS}/current", headers=token.headers).status_code == 401
    assert client.get("/api/v1/documents", headers=citizen.headers).status_code == 200


@pytest.mark.parametrize("who", ["citizen", "officer", "itself"])
def test_an_ended_session_is_refused_on_the_very_next_request(
    client: TestClient, officer: OfficerAccount, citizen: Account, who: str
) -> None:
    token = open_acting(client, officer, citizen, ("documents:read",))
    assert client.get("/api/v1/documents", headers=token.headers).status_code == 200
    by = {"citizen": citizen.headers, "officer": officer.headers, "itself": token.headers}[who]
    assert client.delete(f"{SESSIONS}/{token.id}", headers=by).status_code == 204
    assert client.get("/api/v1/documents", headers=token.headers).status_code == 401
    ended = client.get(SESSIONS, headers=citizen.headers).json()[0]
    assert ended["live"] is False
    assert ended["end_reason"] == ("citizen" if who == "citizen" else "actor")


def test_another_officer_or_citizen_cannot_end_a_session(
    client: TestClient, officer: OfficerAccount, citizen: Account, agency: AgencyAccount
) -> None:
    token = open_acting(client, officer, citizen, ("documents:read",))
    stranger = register(client)
    colleague = register_officer(client, agency.code)
    assert client.delete(f"{SESSIONS}/{token.id}", headers=stranger.headers).status_code == 404
    assert client.delete(f"{SESSIONS}/{token.id}", headers=colleague.headers).status_code == 404
    assert client.get("/api/v1/documents", headers=token.headers).status_code == 200


def test_an_expired_session_is_refused_and_told(
    client: TestClient, officer: OfficerAccount, citizen: Account
) -> None:
    token = open_acting(client, officer, citizen, ("documents:read",), minutes=5)
    assert client.get("/api/v1/documents", headers=token.headers).status_code == 200
    with db.unit_of_work(client.app.state.engine) as session:  # type: ignore[attr-defined]
        row = session.get(ActingSession, uuid.UUID(token.id))
        assert row is not None
        row.expires_at = db.utc_now() - timedelta(seconds=1)
        session.add(row)
    assert client.get("/api/v1/documents", headers=token.headers).status_code == 401
    listed = client.get(SESSIONS, headers=citizen.headers).json()[0]
    assert listed["live"] is False and listed["end_reason"] == "expired"
    assert listed["ended_at"] == listed["expires_at"]
    # Listing only reads: the queued job at its end records it and tells the citizen.
    kinds = [n["kind"] for n in client.get("/api/v1/notifications", headers=citizen.headers).json()]
    assert "assist_ended" not in kinds


def test_every_event_names_both_and_the_citizen_sees_it_all(
    client: TestClient, officer: OfficerAccount, citizen: Account, agency: AgencyAccount
) -> None:
    every_scope = ("documents:read", "documents:write", "grants:write")
    token = open_acting(client, officer, citizen, every_scope)
    acting_as = Account(citizen.national_id, token.headers, citizen.id)
    paper = upload(client, acting_as, ("khai-sinh.png", png()), doc_type="GKS").json()
    assert (
        client.get(f"/api/v1/documents/{paper['id']}/content", headers=token.headers).status_code
        == 200
    )
    shared = client.post(
        "/api/v1/grants",
        headers=token.headers,
        json={"agency": agency.code, "document_ids": [paper["id"]], "purpose": "Đăng ký kết hôn"},
    )
    assert shared.status_code == 201, shared.text
    assert client.delete(f"{SESSIONS}/{token.id}", headers=officer.headers).status_code == 204

    acted = [e for e in events(client, citizen) if '"acting_session"' in e.details]
    assert [e.action for e in acted] == ["document.upload", "document.read", "grant.create"]
    for event in acted:
        assert event.actor_type == "officer"
        assert event.actor_id == officer.username
        assert event.chain == citizen.id
        assert json.loads(event.details)["acting_session"] == token.id
    assert acted[0].agency_id is not None

    history = client.get(SESSIONS, headers=citizen.headers).json()
    assert len(history) == 1
    record = history[0]
    assert record["officer"] == {
        "username": officer.username,
        "name": "Trần Văn Bình",
        "agency": {"code": "UBND-HAICHAU", "name": "UBND phường Hải Châu"},
    }
    assert record["scopes"] == sorted(every_scope)
    texts = [a["text"] for a in record["actions"]]
    assert texts[0].startswith(
        "Cán bộ Trần Văn Bình, UBND phường Hải Châu, đã tải lên Giấy khai sinh"
    )
    assert " lúc " in texts[0]
    assert "đã xem Giấy khai sinh" in texts[1]
    assert "đã chia sẻ giấy tờ với UBND phường Hải Châu" in texts[2]

    log = client.get("/api/v1/access-log", headers=citizen.headers).json()
    assisted = [e for e in log if e["acting_session_id"] == token.id]
    assert [e["action"] for e in assisted] == [
        "assist.session_end",
        "grant.create",
        "document.read",
        "document.upload",
        "assist.session_start",
    ]
    # Ended by the officer: that too is theirs.
    for entry in assisted:
        assert entry["officer"] == record["officer"]

    notices = client.get("/api/v1/notifications", headers=citizen.headers).json()
    by_kind = {n["kind"]: n for n in notices}
    assert "Cán bộ Trần Văn Bình" in by_kind["assist_started"]["body"]
    assert "tải lên Giấy khai sinh" in by_kind["assist_ended"]["body"]
    assert citizen.national_id not in json.dumps(notices)


def _sessions_in_db(client: TestClient) -> list[ActingSession]:
    with db.unit_of_work(client.app.state.engine, writes=False) as session:  # type: ignore[attr-defined]
        return list(session.exec(select(ActingSession)))


def test_an_officer_cannot_harvest_names_by_asking_over_and_over(
    client: TestClient, officer: OfficerAccount, citizen: Account
) -> None:
    from vault.assist import requests

    body = {
        "national_id": citizen.national_id,
        "scopes": ["documents:read"],
        "identity_check": "chip_card",
    }
    for _ in range(requests.REQUESTS_PER_HOUR):
        assert client.post(REQUESTS, headers=officer.headers, json=body).status_code == 201
    refused = client.post(REQUESTS, headers=officer.headers, json=body)
    assert refused.status_code == 429 and refused.headers["retry-after"] == "3600"


def test_a_lapsed_session_is_closed_by_its_queued_job(
    client: TestClient, officer: OfficerAccount, citizen: Account, settings: Settings
) -> None:
    token = open_acting(client, officer, citizen, ("documents:read",), minutes=1)
    with db.unit_of_work(client.app.state.engine) as session:  # type: ignore[attr-defined]
        row = session.get(ActingSession, uuid.UUID(token.id))
        assert row is not None
        row.expires_at = db.utc_now() - timedelta(seconds=1)
        session.add(row)
    app_state = client.app.state  # type: ignore[attr-defined]
    work = Work.from_settings(settings, engine=app_state.engine, keyring=app_state.backend.keyring)
    tasks.TASKS[queue.Task.ASSIST_CLOSE](work, session=token.id)
    tasks.TASKS[queue.Task.ASSIST_CLOSE](work, session=token.id)
    with db.unit_of_work(client.app.state.engine, writes=False) as session:  # type: ignore[attr-defined]
        row = session.get(ActingSession, uuid.UUID(token.id))
        assert row is not None and row.end_reason == "expired"
    notices = client.get("/api/v1/notifications", headers=citizen.headers).json()
    assert [n["kind"] for n in notices].count("assist_ended") == 1
    ends = [e for e in events(client, citizen) if e.action == "assist.session_end"]
    assert len(ends) == 1 and ends[0].actor_type == "system"


def test_a_paper_uploaded_into_a_dossier_needs_documents_write(
    client: TestClient, officer: OfficerAccount, citizen: Account, agency: AgencyAccount
) -> None:
    """A dossier's upload stores the paper in the vault: filing alone does not allow it."""
    from tests.dossiers.test_dossiers import MARRIAGE

    filing = open_acting(client, officer, citizen, ("documents:read", "dossiers:write"))
    body = {"procedure": MARRIAGE, "agency": agency.code}
    dossier = client.post("/api/v1/dossiers", headers=filing.headers, json=body)
    assert dossier.status_code == 201, dossier.text
    upload_into = f"/api/v1/dossiers/{dossier.json()['id']}/attachments"
    acting_as = Account(citizen.national_id, filing.headers, citizen.id)
    refused = upload(client, acting_as, ("a.png", png()), path=upload_into, doc_type="CCCD")
    assert refused.status_code == 403
    assert "documents:write" in refused.json()["detail"]


def test_answers_carrying_a_secret_are_never_cached(
    client: TestClient, officer: OfficerAccount, citizen: Account, agency: AgencyAccount
) -> None:
    """Tokens and codes (RFC 6749 §5.1): no cache, shared or private, may keep them."""
    request_id = ask(client, officer, citizen, ("documents:read",))
    client.post(f"{REQUESTS}/{request_id}/approve", headers=citizen.headers)
    answers = [
        client.post(
            "/api/v1/auth/token", data={"username": citizen.national_id, "password": PASSWORD}
        ),
        client.post(
            "/api/v1/officer/token",
            data={"username": officer.username, "password": officer.password},
        ),
        client.post(
            "/api/v1/agency/token",
            data={
                "grant_type": "client_credentials",
                "client_id": agency.client_id,
                "client_secret": agency.client_secret,
            },
        ),
        client.post(f"{REQUESTS}/{request_id}/session", headers=officer.headers),
        client.post("/api/v1/citizens/me/recovery-codes", headers=citizen.headers),
        client.post(
            "/api/v1/assist/password-resets",
            headers=officer.headers,
            json={"national_id": citizen.national_id, "identity_check": "chip_card"},
        ),
    ]
    for answer in answers:
        assert answer.status_code in (200, 201), answer.text
        assert answer.headers["cache-control"] == "no-store"
