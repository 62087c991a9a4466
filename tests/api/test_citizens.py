"""Accounts: registration, login and its throttle, tokens, erasure."""

import logging
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import Session, select

from tests.support import files
from tests.support.api import PASSWORD, new_national_id, register, upload
from tests.support.pages import CSRF_INPUT
from vault import db
from vault.accounts import citizens
from vault.accounts.models import AccessToken, LoginThrottle
from vault.documents.models import Document
from vault.keys.models import CitizenKey


def test_register_and_read_profile(client: TestClient) -> None:
    number = new_national_id("001")
    created = client.post(
        "/api/v1/citizens",
        json={
            "national_id": number,
            "full_name": "  Lê   Thị Hoa ",
            "password": PASSWORD,
            "phone": "0905123456",
        },
    )
    assert created.status_code == 201
    assert created.headers["location"] == "/api/v1/citizens/me"
    assert "password" not in created.text
    token = client.post(
        "/api/v1/auth/token", data={"username": number, "password": PASSWORD}
    ).json()
    assert token["token_type"] == "bearer" and token["expires_in"] == 1800
    me = client.get(
        "/api/v1/citizens/me", headers={"Authorization": f"Bearer {token['access_token']}"}
    ).json()
    assert (me["national_id"], me["full_name"], me["phone"]) == (number, "Lê Thị Hoa", "0905123456")


def test_the_number_reaches_no_log_even_as_a_bound_parameter(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    number = new_national_id()
    body = {"national_id": number, "full_name": "A", "password": PASSWORD}
    assert client.post("/api/v1/citizens", json=body).status_code == 201
    assert client.post("/api/v1/citizens", json=body).status_code == 409
    for password in ("wrong password", PASSWORD):
        client.post("/api/v1/auth/token", data={"username": number, "password": password})
    assert "INSERT INTO citizen" in caplog.text  # the SQL log, parameters included, was on
    assert number not in caplog.text


@pytest.mark.parametrize(
    "number",
    [
        "04809500123",
        "0480950012345",
        "04809500123a",
        "000095001234",
        "099095001234",
        "048399001234",
    ],
    ids=["11-digits", "13-digits", "letter", "province-000", "province-099", "born-2099"],
)
def test_invalid_national_ids_are_422(client: TestClient, number: str) -> None:
    response = client.post(
        "/api/v1/citizens", json={"national_id": number, "full_name": "A", "password": PASSWORD}
    )
    assert response.status_code == 422
    assert response.json()["field"] == "national_id"


def test_short_password_is_422_and_not_echoed(client: TestClient) -> None:
    response = client.post(
        "/api/v1/citizens",
        json={"national_id": new_national_id(), "full_name": "A", "password": "hunter2"},
    )
    assert response.status_code == 422
    assert "hunter2" not in response.text


def test_duplicate_is_409(client: TestClient) -> None:
    number = new_national_id()
    body = {"national_id": number, "full_name": "A", "password": PASSWORD}
    assert client.post("/api/v1/citizens", json=body).status_code == 201
    duplicate = client.post("/api/v1/citizens", json=body)
    assert duplicate.status_code == 409
    assert duplicate.headers["content-type"] == "application/problem+json"


def test_sign_ups_say_who_has_a_vault_only_when_well_formed_and_not_wholesale(
    app: FastAPI, client: TestClient
) -> None:
    taken = register(client)  # one sign-up from this address
    short = {"national_id": taken.national_id, "full_name": "A", "password": "short"}
    assert client.post("/api/v1/citizens", json=short).status_code == 422
    with TestClient(app) as browser:
        found = CSRF_INPUT.search(browser.get("/signup").text)
        assert found
        form = {**short, "csrf": found.group(1)}
        assert browser.post("/signup", data=form).status_code == 422
        for _ in range(citizens.SIGNUPS.account_failures - 2):
            form["national_id"] = new_national_id()
            assert browser.post("/signup", data=form).status_code == 422
        body = {"national_id": new_national_id(), "full_name": "A", "password": PASSWORD}
        refused = client.post("/api/v1/citizens", json=body)
        assert refused.status_code == 429, refused.text
        assert 0 < int(refused.headers["Retry-After"]) <= 3600
        assert browser.post("/signup", data={**form, "password": PASSWORD}).status_code == 429


def test_wrong_password_and_unknown_account_look_the_same(client: TestClient) -> None:
    account = register(client)
    wrong = client.post(
        "/api/v1/auth/token", data={"username": account.national_id, "password": "wrong password"}
    )
    unknown = client.post(
        "/api/v1/auth/token", data={"username": new_national_id(), "password": "wrong password"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]


def test_repeated_failures_are_throttled_even_with_the_right_password(client: TestClient) -> None:
    account = register(client)
    for _ in range(5):
        response = client.post(
            "/api/v1/auth/token", data={"username": account.national_id, "password": "guess"}
        )
        assert response.status_code == 401
    blocked = client.post(
        "/api/v1/auth/token", data={"username": account.national_id, "password": PASSWORD}
    )
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0
    other = register(client)  # another account from the same address is not locked out
    assert (
        client.post(
            "/api/v1/auth/token", data={"username": other.national_id, "password": PASSWORD}
        ).status_code
        == 200
    )


@pytest.mark.journey  # a hundred logins, each a real password hash: the full tier
def test_an_own_login_does_not_wash_away_guesses_at_other_accounts(client: TestClient) -> None:
    """The address's budget (50 failures in 15 minutes) holds against a guesser who logs into
    an account of their own now and then; logins that succeed do not use it up."""
    me = register(client)

    def login(number: str, password: str) -> int:
        form = {"username": number, "password": password}
        return client.post("/api/v1/auth/token", data=form).status_code

    for _ in range(51):  # a busy counter: more good logins from one address than its budget
        assert login(me.national_id, PASSWORD) == 200
    answers = []
    for round_ in range(20):
        answers += [login(new_national_id(), f"guess {round_}-{n}") for n in range(4)]
        if 429 not in answers:
            assert login(me.national_id, PASSWORD) == 200
    assert answers.count(401) == 50 and 429 in answers


def test_a_block_begun_late_in_a_window_lasts_its_whole_time(client: TestClient) -> None:
    account = register(client)

    def login(password: str) -> int:
        form = {"username": account.national_id, "password": password}
        return client.post("/api/v1/auth/token", data=form).status_code

    assert [login("guess") for _ in range(4)] == [401] * 4
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with db.unit_of_work(engine) as session:  # the window began 14 minutes ago
        session.execute(
            update(LoginThrottle).values(window_started_at=db.utc_now() - timedelta(minutes=14))
        )
    assert login("guess") == 401  # the fifth: blocked for 15 minutes from now
    with db.unit_of_work(engine) as session:  # two minutes on, the window is over
        session.execute(
            update(LoginThrottle).values(window_started_at=db.utc_now() - timedelta(minutes=16))
        )
    assert login(PASSWORD) == 429  # the block is not


def test_logout_revokes_the_token(client: TestClient) -> None:
    account = register(client)
    assert client.post("/api/v1/auth/logout", headers=account.headers).status_code == 204
    assert client.get("/api/v1/citizens/me", headers=account.headers).status_code == 401


def test_erasure_destroys_key_papers_and_tokens(app: FastAPI, client: TestClient) -> None:
    account = register(client)
    upload(client, account, ("a.pdf", files.pdf()))
    upload(client, account, ("b.jpg", files.jpeg_with_gps()))
    survivor = register(client)
    kept = upload(client, survivor, ("c.pdf", files.pdf())).json()
    assert len(list(app.state.backend.store.iter_blobs())) == 6  # each paper and its thumbnail

    assert client.delete("/api/v1/citizens/me", headers=account.headers).status_code == 204
    assert client.get("/api/v1/citizens/me", headers=account.headers).status_code == 401
    with Session(app.state.engine) as session:
        owners = {str(d.owner_id) for d in session.exec(select(Document))}
        assert owners == {survivor.id}
        assert [str(k.citizen_id) for k in session.exec(select(CitizenKey))] == [survivor.id]
        assert {str(t.citizen_id) for t in session.exec(select(AccessToken))} == {survivor.id}
    assert len(list(app.state.backend.store.iter_blobs())) == 2
    assert (
        client.get(f"/api/v1/documents/{kept['id']}/content", headers=survivor.headers).status_code
        == 200
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"full_name": None}, "full_name"),
        ({"full_name": "   "}, "full_name"),
        ({"phone": "call me"}, "phone"),
        ({"date_of_birth": "1990-13-01"}, "date_of_birth"),
        ({"date_of_birth": "2001-01-01"}, "date_of_birth"),  # register() gives 1900s numbers
    ],
)
def test_profile_changes_are_checked_and_a_refused_one_changes_nothing(
    client: TestClient, body: dict[str, object], field: str
) -> None:
    account = register(client, full_name="Lê Thị Hoa")
    refused = client.patch("/api/v1/citizens/me", headers=account.headers, json=body)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert field in refused.text
    me = client.get("/api/v1/citizens/me", headers=account.headers).json()
    assert (me["full_name"], me["phone"], me["date_of_birth"]) == ("Lê Thị Hoa", None, None)
    changed = client.patch(
        "/api/v1/citizens/me", headers=account.headers, json={"address": "Hải Châu, Đà Nẵng"}
    )
    assert changed.status_code == 200 and changed.json()["full_name"] == "Lê Thị Hoa"
