"""Family and helpers, through the real API: a delegation is nothing until the delegate accepts,
a session from it stays within its scopes and its end, the citizen sees everything done and
revokes at once, and no acting token ever makes or ends a delegation."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from tests.support.api import Account, new_national_id, register, upload
from tests.support.files import png
from vault import db
from vault.accounts.models import ActingSession
from vault.assist.delegations import LOOKUPS_PER_DAY
from vault.assist.models import Delegation
from vault.kit import days

DELEGATIONS = "/api/v1/delegations"
SESSIONS = "/api/v1/assist/sessions"
EVERY_SCOPE = ["documents:read", "documents:write", "grants:write", "dossiers:write"]


@pytest.fixture
def lan(client: TestClient) -> Account:
    return register(client, full_name="Nguyễn Thị Lan")


@pytest.fixture
def minh(client: TestClient) -> Account:
    return register(client, full_name="Trần Văn Minh")


def offer(
    client: TestClient,
    by: Account,
    to: Account,
    scopes: list[str] | None = None,
    expires_on: str | None = None,
) -> Any:
    return client.post(
        DELEGATIONS,
        headers=by.headers,
        json={
            "national_id": to.national_id,
            "scopes": scopes or ["documents:read"],
            "expires_on": expires_on or str(days.today() + timedelta(days=30)),
        },
    )


def accepted(client: TestClient, by: Account, to: Account, scopes: list[str] | None = None) -> str:
    made = offer(client, by, to, scopes)
    assert made.status_code == 201, made.text
    answer = client.post(f"{DELEGATIONS}/{made.json()['id']}/accept", headers=to.headers)
    assert answer.status_code == 200, answer.text
    return str(made.json()["id"])


def acting(client: TestClient, delegate: Account, delegation: str, **body: Any) -> Any:
    return client.post(f"{DELEGATIONS}/{delegation}/session", headers=delegate.headers, json=body)


def bearer(opened: Any) -> dict[str, str]:
    assert opened.status_code == 201, opened.text
    return {"Authorization": f"Bearer {opened.json()['access_token']}"}


def moment(value: str) -> datetime:
    return db.aware(datetime.fromisoformat(value))


def notices(client: TestClient, who: Account) -> list[Any]:
    return list(client.get("/api/v1/notifications", headers=who.headers).json())


def test_an_offer_is_nothing_until_accepted_and_both_see_it(
    client: TestClient, lan: Account, minh: Account
) -> None:
    made = offer(client, lan, minh, ["documents:read", "grants:write"])
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["status"] == "pending" and body["direction"] == "given"
    # Until Minh accepts, Lan sees his name masked: a number typed tells no name.
    assert body["delegate"] == {"id": minh.id, "name": "Trần V** M**"}
    assert [d["delegate"]["name"] for d in client.get(DELEGATIONS, headers=lan.headers).json()] == [
        "Trần V** M**"
    ]
    assert body["scopes"] == ["documents:read", "grants:write"]
    assert acting(client, minh, body["id"]).status_code == 409

    told = [n for n in notices(client, minh) if n["kind"] == "delegation_offered"]
    # A name is what its owner typed: to someone who has not accepted, it goes masked.
    assert len(told) == 1 and told[0]["body"].startswith("Nguyễn T** L** muốn uỷ quyền")
    assert lan.national_id not in told[0]["body"] and minh.national_id not in told[0]["body"]

    received = client.get(DELEGATIONS, headers=minh.headers).json()
    assert [(d["id"], d["direction"], d["status"]) for d in received] == [
        (body["id"], "received", "pending")
    ]
    assert received[0]["citizen"]["name"] == "Nguyễn Thị Lan"
    # Only the delegate answers.
    assert client.post(f"{DELEGATIONS}/{body['id']}/accept", headers=lan.headers).status_code == 403
    stranger = register(client)
    assert (
        client.post(f"{DELEGATIONS}/{body['id']}/accept", headers=stranger.headers).status_code
        == 404
    )
    assert client.get(f"{DELEGATIONS}/{body['id']}", headers=stranger.headers).status_code == 404

    answer = client.post(f"{DELEGATIONS}/{body['id']}/accept", headers=minh.headers)
    assert answer.status_code == 200 and answer.json()["status"] == "active"
    thanks = [n for n in notices(client, lan) if n["kind"] == "delegation_accepted"]
    assert len(thanks) == 1 and "Trần Văn Minh" in thanks[0]["body"]
    assert minh.national_id not in thanks[0]["body"]
    given = client.get(DELEGATIONS, headers=lan.headers).json()
    assert [(d["direction"], d["status"]) for d in given] == [("given", "active")]
    # Accepted: his name in full.
    assert given[0]["delegate"]["name"] == "Trần Văn Minh"


def test_the_delegate_may_decline_or_give_it_up(
    client: TestClient, lan: Account, minh: Account
) -> None:
    first = offer(client, lan, minh).json()["id"]
    declined = client.post(f"{DELEGATIONS}/{first}/decline", headers=minh.headers)
    assert declined.status_code == 200 and declined.json()["status"] == "declined"
    assert client.post(f"{DELEGATIONS}/{first}/accept", headers=minh.headers).status_code == 409

    second = accepted(client, lan, minh)
    token = bearer(acting(client, minh, second))
    assert client.delete(f"{DELEGATIONS}/{second}", headers=minh.headers).status_code == 204
    assert client.get("/api/v1/documents", headers=token).status_code == 401
    listed = {d["id"]: d for d in client.get(DELEGATIONS, headers=lan.headers).json()}
    assert listed[second]["status"] == "revoked" and listed[second]["ended_by"] == "delegate"
    assert listed[second]["delegate"]["name"] == "Trần Văn Minh"
    # Declined, never accepted: the name stays masked.
    assert listed[first]["status"] == "declined" and listed[first]["ended_by"] == "delegate"
    assert listed[first]["delegate"]["name"] == "Trần V** M**"


def test_bad_offers_are_refused(client: TestClient, lan: Account, minh: Account) -> None:
    today = days.today()
    nobody = Account("048090123456", {}, "")
    assert offer(client, lan, nobody).status_code == 404
    to_self = offer(client, lan, lan)
    assert to_self.status_code == 422
    assert (to_self.json()["field"], to_self.json()["reason"]) == ("national_id", "self-delegation")
    assert offer(client, lan, minh, ["documents:delete"]).status_code == 422
    assert offer(client, lan, minh, expires_on=str(today - timedelta(days=1))).status_code == 422
    assert offer(client, lan, minh, expires_on=str(today + timedelta(days=367))).status_code == 422
    assert offer(client, lan, minh, expires_on=str(today)).status_code == 201
    # One at a time to the same person.
    assert offer(client, lan, minh).status_code == 409


def test_offers_are_limited_per_day_whatever_became_of_them(
    client: TestClient, lan: Account, minh: Account
) -> None:
    """Ten offers in 24 hours, declined and revoked ones included: no turning a list of numbers
    into names by offering and taking back."""
    for made in range(10):
        body = offer(client, lan, minh)
        assert body.status_code == 201, (made, body.text)
        delegation = body.json()["id"]
        if made % 2:
            ended = client.post(f"{DELEGATIONS}/{delegation}/decline", headers=minh.headers)
            assert ended.status_code == 200
        else:
            ended = client.delete(f"{DELEGATIONS}/{delegation}", headers=lan.headers)
            assert ended.status_code == 204
    stranger = register(client, full_name="Lê Văn Lạ")
    refused = offer(client, lan, stranger)
    assert refused.status_code == 429, refused.text
    assert refused.json()["reason"] == "delegation-offers"
    assert 0 < int(refused.headers["Retry-After"]) <= 24 * 3600
    assert stranger.national_id not in refused.text and "Lạ" not in refused.text
    assert offer(client, lan, Account("048090123456", {}, "")).status_code == 429
    # Someone else's offers are their own.
    assert offer(client, minh, stranger).status_code == 201


def test_numbers_looked_up_are_limited_per_day_refused_ones_included(
    client: TestClient, lan: Account, minh: Account
) -> None:
    """A refused offer says whether a number has a vault: the look-up is spent although the
    refusal rolls its request back."""
    for tried in range(LOOKUPS_PER_DAY):
        nobody = Account(new_national_id(), {}, "")
        assert offer(client, lan, nobody).status_code == 404, tried
    refused = offer(client, lan, minh)
    assert refused.status_code == 429, refused.text
    assert 0 < int(refused.headers["Retry-After"]) <= 24 * 3600
    assert "Minh" not in refused.text
    assert client.get(DELEGATIONS, headers=lan.headers).json() == []
    assert offer(client, minh, lan).status_code == 201


def test_a_name_typed_as_a_message_does_not_reach_the_person_offered_to(
    client: TestClient, minh: Account
) -> None:
    lure = "kho-ho-tro.example/dang-nhap Công an phường: gọi ngay 0987 654 321"
    sender = register(client, full_name=lure)
    assert offer(client, sender, minh).status_code == 201
    (told,) = [n for n in notices(client, minh) if n["kind"] == "delegation_offered"]
    assert told["body"].startswith("k** C** a** p** g** n** 0** 6** 3** muốn uỷ quyền")
    for piece in ("example", "0987", "Công an"):
        assert piece not in told["body"]


def test_a_session_stays_within_the_delegations_scopes_and_end(
    client: TestClient, lan: Account, minh: Account
) -> None:
    delegation = accepted(client, lan, minh, ["documents:read"])
    assert acting(client, minh, delegation, scopes=["documents:write"]).status_code == 422
    assert acting(client, minh, delegation, minutes=61).status_code == 422
    # Lan herself cannot open a session on her own delegation.
    assert acting(client, lan, delegation).status_code == 403

    opened = acting(client, minh, delegation)
    token = bearer(opened)
    assert opened.json()["scopes"] == ["documents:read"]
    lasts = moment(opened.json()["expires_at"]) - db.utc_now()
    assert timedelta(minutes=29) < lasts <= timedelta(minutes=30)

    assert client.get("/api/v1/documents", headers=token).status_code == 200
    refused = client.post(
        "/api/v1/documents",
        headers=token,
        data={"doc_type": "GKS"},
        files=[("file", ("a.png", png(), "application/octet-stream"))],
    )
    assert refused.status_code == 403
    current = client.get(f"{SESSIONS}/current", headers=token).json()
    assert current["citizen_name"] == "Nguyễn Thị Lan"


def test_a_session_never_outlives_the_delegation(
    app: FastAPI, client: TestClient, lan: Account, minh: Account
) -> None:
    delegation = accepted(client, lan, minh)
    with db.unit_of_work(app.state.engine) as session:
        row = session.get(Delegation, uuid.UUID(delegation))
        assert row is not None
        # It ends in ten minutes.
        row.ends_at = db.utc_now() + timedelta(minutes=10)
        session.add(row)
    opened = acting(client, minh, delegation, minutes=60)
    lasts = moment(opened.json()["expires_at"]) - db.utc_now()
    assert lasts <= timedelta(minutes=10)


def test_the_delegations_expiry_ends_its_sessions(
    app: FastAPI, client: TestClient, lan: Account, minh: Account
) -> None:
    delegation = accepted(client, lan, minh)
    opened = acting(client, minh, delegation)
    token = bearer(opened)
    assert client.get("/api/v1/documents", headers=token).status_code == 200
    # The last day passes: the session was opened to end no later than the delegation, so its
    # end comes with it.
    with db.unit_of_work(app.state.engine) as session:
        row = session.get(Delegation, uuid.UUID(delegation))
        live = session.get(ActingSession, uuid.UUID(opened.json()["id"]))
        assert row is not None and live is not None
        row.expires_on = days.today() - timedelta(days=1)
        row.ends_at = db.utc_now() - timedelta(seconds=2)
        live.expires_at = row.ends_at
        session.add_all([row, live])
    assert client.get("/api/v1/documents", headers=token).status_code == 401
    assert acting(client, minh, delegation).status_code == 409
    listed = client.get(DELEGATIONS, headers=lan.headers).json()
    assert listed[0]["status"] == "expired"
    assert client.get(DELEGATIONS, headers=minh.headers).json()[0]["status"] == "expired"
    history = client.get(SESSIONS, headers=lan.headers).json()
    assert history[0]["live"] is False and history[0]["end_reason"] == "expired"
    assert client.delete(f"{DELEGATIONS}/{delegation}", headers=lan.headers).status_code == 409


def test_revoking_ends_every_session_at_once(
    client: TestClient, lan: Account, minh: Account
) -> None:
    delegation = accepted(client, lan, minh)
    first, second = (
        bearer(acting(client, minh, delegation)),
        bearer(acting(client, minh, delegation)),
    )
    for token in (first, second):
        assert client.get("/api/v1/documents", headers=token).status_code == 200
    assert client.delete(f"{DELEGATIONS}/{delegation}", headers=lan.headers).status_code == 204
    for token in (first, second):
        assert client.get("/api/v1/documents", headers=token).status_code == 401
    assert acting(client, minh, delegation).status_code == 409
    history = client.get(SESSIONS, headers=lan.headers).json()
    assert [(s["live"], s["end_reason"]) for s in history] == [(False, "revoked")] * 2
    assert [n["kind"] for n in notices(client, lan)].count("assist_ended") == 2
    listed = client.get(DELEGATIONS, headers=lan.headers).json()[0]
    assert listed["status"] == "revoked" and listed["ended_by"] == "citizen"
    assert client.delete(f"{DELEGATIONS}/{delegation}", headers=lan.headers).status_code == 409


def test_the_citizen_sees_every_action_of_the_delegate(
    client: TestClient, lan: Account, minh: Account
) -> None:
    delegation = accepted(client, lan, minh, ["documents:read", "documents:write"])
    opened = acting(client, minh, delegation)
    token = bearer(opened)
    as_lan = Account(lan.national_id, token, lan.id)
    paper = upload(client, as_lan, ("khai-sinh.png", png()), doc_type="GKS").json()
    assert client.get(f"/api/v1/documents/{paper['id']}/content", headers=token).status_code == 200

    started = [n for n in notices(client, lan) if n["kind"] == "assist_started"]
    assert len(started) == 1 and "Trần Văn Minh (người được uỷ quyền)" in started[0]["body"]

    history = client.get(SESSIONS, headers=lan.headers).json()
    assert len(history) == 1
    record = history[0]
    assert record["kind"] == "delegate" and record["officer"] is None
    assert record["delegate"] == {"id": minh.id, "name": "Trần Văn Minh"}
    texts = [a["text"] for a in record["actions"]]
    assert texts[0].startswith("Trần Văn Minh (người được uỷ quyền) đã tải lên Giấy khai sinh")
    assert [a["action"] for a in record["actions"]] == ["document.upload", "document.read"]

    log = client.get("/api/v1/access-log", headers=lan.headers).json()
    done = [e for e in log if e["acting_session_id"] == opened.json()["id"]]
    assert {e["action"] for e in done} >= {
        "assist.session_start",
        "document.upload",
        "document.read",
    }
    assert all(e["delegate"] == {"id": minh.id, "name": "Trần Văn Minh"} for e in done), done
    # Minh's own history is untouched: he acted in Lan's vault, not his.
    assert client.get(SESSIONS, headers=minh.headers).json() == []


def test_an_acting_token_cannot_make_answer_or_end_a_delegation(
    client: TestClient, lan: Account, minh: Account
) -> None:
    delegation = accepted(client, lan, minh, EVERY_SCOPE)
    token = bearer(acting(client, minh, delegation))
    third = register(client)
    pending = offer(client, lan, third).json()["id"]
    body = {
        "national_id": third.national_id,
        "scopes": ["documents:read"],
        "expires_on": str(days.today()),
    }
    child = {
        "national_id": "048215000001",
        "full_name": "Trần Minh Khôi",
        "date_of_birth": "2015-01-01",
        "relationship": "father",
        "birth_certificate_id": str(uuid.uuid4()),
    }
    codes = [
        client.post(DELEGATIONS, headers=token, json=body).status_code,
        client.get(DELEGATIONS, headers=token).status_code,
        client.delete(f"{DELEGATIONS}/{delegation}", headers=token).status_code,
        client.post(f"{DELEGATIONS}/{pending}/accept", headers=token).status_code,
        client.post(f"{DELEGATIONS}/{delegation}/session", headers=token).status_code,
        client.post("/api/v1/dependents", headers=token, json=child).status_code,
        client.get("/api/v1/dependents", headers=token).status_code,
    ]
    assert codes == [403] * len(codes)
    assert client.get("/api/v1/documents", headers=token).status_code == 200


def test_erasing_an_account_takes_its_delegations(
    app: FastAPI, client: TestClient, lan: Account, minh: Account
) -> None:
    delegation = accepted(client, lan, minh)
    token = bearer(acting(client, minh, delegation))
    assert client.delete("/api/v1/citizens/me", headers=lan.headers).status_code == 204
    assert client.get("/api/v1/documents", headers=token).status_code == 401
    assert client.get(DELEGATIONS, headers=minh.headers).json() == []
    with Session(app.state.engine) as session:
        assert session.exec(select(Delegation)).all() == []
