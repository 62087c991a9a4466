"""The inbox and where notices go: reading and marking notices, the channels, the email address
and the helpers, each address confirmed with the code the vault sent to it."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import select

from tests.support.api import Account, register
from vault import db
from vault.accounts import citizens
from vault.notices import contacts, inbox, texts
from vault.notices.models import Contact, ContactRole

SETTINGS = "/api/v1/citizens/me/notifications"
DEFAULTS = {
    "email": None,
    "email_verified": False,
    "channels": {"email": True, "webhook": False},
    "expiry_days_before": [30, 7],
    "helpers": [],
}


@pytest.fixture
def citizen(client: TestClient) -> Account:
    return register(client)


def announce(app: FastAPI, citizen: Account, notice: inbox.Notice) -> uuid.UUID:
    """As the vault does when a dossier moves or a paper expires, in a transaction of its own."""
    with db.unit_of_work(app.state.engine) as session:
        row = citizens.announce(session, app.state.backend.keyring, uuid.UUID(citizen.id), notice)
        assert row is not None
        return row.id


def dossier_news(status: str = "needs_supplement") -> inbox.Notice:
    return texts.dossier_status(
        1, uuid.uuid4(), status, "Đăng ký kết hôn", "UBND phường Hải Châu", "Thiếu bản sao"
    )


def sent_code(app: FastAPI, citizen: Account, helper: str | None = None) -> str:
    """The code the vault sent, as the citizen (or the helper) reads it in the message."""
    owner = uuid.UUID(citizen.id)
    query = select(Contact).where(Contact.citizen_id == owner)
    if helper is None:
        query = query.where(Contact.role == ContactRole.SELF)
    else:
        query = query.where(Contact.id == uuid.UUID(helper))
    with db.unit_of_work(app.state.engine, writes=False) as session:
        contact = session.exec(query).one()
        code = contacts.opened(session, app.state.backend.keyring, contact).code
    assert code is not None and len(code) == 6
    return code


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def settings(client: TestClient, citizen: Account) -> Any:
    answer = client.get(SETTINGS, headers=citizen.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def put(client: TestClient, citizen: Account, **body: Any) -> Any:
    return client.put(SETTINGS, headers=citizen.headers, json=body)


def test_an_empty_inbox(client: TestClient, citizen: Account) -> None:
    listed = client.get("/api/v1/notifications", headers=citizen.headers)
    assert listed.status_code == 200
    assert listed.json() == []
    assert listed.headers["X-Unread-Count"] == "0"


def test_a_notice_announced_is_listed_and_read_once(
    app: FastAPI, client: TestClient, citizen: Account
) -> None:
    notice = dossier_news()
    notice_id = announce(app, citizen, notice)

    listed = client.get("/api/v1/notifications", headers=citizen.headers)
    assert listed.headers["X-Unread-Count"] == "1"
    [shown] = listed.json()
    assert shown["id"] == str(notice_id)
    assert (shown["kind"], shown["title"], shown["link"]) == (
        "dossier_status",
        "Hồ sơ cần bổ sung",
        notice.link,
    )
    assert shown["body"] == notice.body and "UBND phường Hải Châu" in shown["body"]
    assert shown["created_at"].endswith("Z") or shown["created_at"].endswith("+00:00")
    assert shown["read_at"] is None

    read = client.post(f"/api/v1/notifications/{notice_id}/read", headers=citizen.headers)
    assert read.status_code == 200
    assert read.json()["read_at"] is not None
    again = client.post(f"/api/v1/notifications/{notice_id}/read", headers=citizen.headers)
    assert again.status_code == 200
    assert again.json() == read.json()  # the first moment it was read is kept

    listed = client.get("/api/v1/notifications", headers=citizen.headers)
    assert listed.headers["X-Unread-Count"] == "0"
    assert listed.json() == [read.json()]


@pytest.mark.parametrize("unread", ["1", "true"])
def test_unread_only_and_newest_first(
    app: FastAPI, client: TestClient, citizen: Account, unread: str
) -> None:
    paper = uuid.uuid4()
    first = announce(app, citizen, texts.paper_expired(paper, "Thẻ căn cước", db.utc_now().date()))
    second = announce(app, citizen, dossier_news("completed"))
    client.post(f"/api/v1/notifications/{first}/read", headers=citizen.headers)

    everything = client.get("/api/v1/notifications?unread=0", headers=citizen.headers).json()
    assert [n["id"] for n in everything] == [str(second), str(first)]
    assert everything[1]["link"] == f"/papers/{paper}"
    only = client.get(f"/api/v1/notifications?unread={unread}", headers=citizen.headers)
    assert [n["id"] for n in only.json()] == [str(second)]
    assert only.headers["X-Unread-Count"] == "1"
    falsy = client.get("/api/v1/notifications?unread=false", headers=citizen.headers).json()
    assert falsy == everything
    refused = client.get("/api/v1/notifications?unread=maybe", headers=citizen.headers)
    assert refused.status_code == 422


def test_notices_of_others_do_not_exist(app: FastAPI, client: TestClient, citizen: Account) -> None:
    notice_id = announce(app, citizen, dossier_news())
    stranger = register(client, full_name="Trần Văn Bình")

    for unknown in (notice_id, uuid.uuid4()):
        refused = client.post(f"/api/v1/notifications/{unknown}/read", headers=stranger.headers)
        assert refused.status_code == 404
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["type"] == "/problems/not-found"
    theirs = client.get("/api/v1/notifications", headers=stranger.headers)
    assert theirs.json() == [] and theirs.headers["X-Unread-Count"] == "0"
    # The stranger's try marked nothing read.
    [mine] = client.get("/api/v1/notifications", headers=citizen.headers).json()
    assert mine["read_at"] is None


def test_the_inbox_needs_a_login(client: TestClient) -> None:
    assert client.get("/api/v1/notifications").status_code == 401
    assert client.get(SETTINGS).status_code == 401
    assert client.post(f"/api/v1/notifications/{uuid.uuid4()}/read").status_code == 401


def test_settings_default_and_partial_updates_keep_the_rest(
    client: TestClient, citizen: Account
) -> None:
    assert settings(client, citizen) == DEFAULTS

    changed = put(client, citizen, channels={"webhook": True})
    assert changed.status_code == 200
    assert changed.json() == DEFAULTS | {"channels": {"email": True, "webhook": True}}
    changed = put(client, citizen, channels={"email": False}, expiry_days_before=[7, 1, 60])
    assert changed.json()["channels"] == {"email": False, "webhook": True}
    assert changed.json()["expiry_days_before"] == [60, 7, 1]
    assert put(client, citizen).json() == changed.json()
    assert put(client, citizen, channels={}).json() == changed.json()
    assert settings(client, citizen) == changed.json()
    emptied = put(client, citizen, expiry_days_before=[])
    assert emptied.json()["expiry_days_before"] == []
    assert emptied.json()["channels"] == {"email": False, "webhook": True}


BAD_SETTINGS = {
    "day-0": {"expiry_days_before": [0]},
    "day-400": {"expiry_days_before": [30, 400]},
    "six-days": {"expiry_days_before": [1, 2, 3, 4, 5, 6]},
    "negative-day": {"expiry_days_before": [-7]},
    "day-not-a-number": {"expiry_days_before": ["soon"]},
    "days-null": {"expiry_days_before": None},
    "channels-null": {"channels": None},
    "channel-null": {"channels": {"email": None}},
    "unknown-channel": {"channels": {"sms": True}},
    "email-words": {"email": "không phải email"},
    "email-no-domain": {"email": "lan@"},
    "email-several": {"email": "postmaster,me@attacker.example"},
    "email-group": {"email": "friends:me@attacker.example"},
    "email-percent-route": {"email": "victim%internal.example@attacker.example"},
    "email-number": {"email": 42},
    "unknown-field": {"sms": True},
}


def test_bad_settings_are_422_and_change_nothing(client: TestClient, citizen: Account) -> None:
    for case, body in BAD_SETTINGS.items():
        refused = put(client, citizen, **body)
        assert refused.status_code == 422, (case, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
        assert settings(client, citizen) == DEFAULTS, case


def test_a_rule_of_the_service_names_its_field(client: TestClient, citizen: Account) -> None:
    assert put(client, citizen, expiry_days_before=[0]).json()["field"] == "expiry_days_before"
    assert put(client, citizen, email="lan@").json()["field"] == "email"


def test_an_email_is_confirmed_with_the_code_sent_to_it(
    app: FastAPI, client: TestClient, citizen: Account
) -> None:
    given = put(client, citizen, email="  Lan.Nguyen@Example.VN ")
    assert given.status_code == 200
    assert given.json() | {"email": None} == DEFAULTS
    assert given.json()["email"] == "lan.nguyen@example.vn"
    verify = f"{SETTINGS}/verify-email"

    code = sent_code(app, citizen)
    wrong_code = client.post(verify, headers=citizen.headers, json={"code": wrong(code)})
    assert wrong_code.status_code == 422
    assert wrong_code.json()["field"] == "code"
    confirmed = client.post(verify, headers=citizen.headers, json={"code": code})
    assert confirmed.status_code == 200
    assert confirmed.json()["email_verified"] is True
    assert settings(client, citizen)["email_verified"] is True

    # Other changes keep the confirmed address; the same address again keeps it confirmed.
    assert put(client, citizen, channels={"webhook": True}).json()["email_verified"] is True
    assert put(client, citizen, email="lan.nguyen@example.vn").json()["email_verified"] is True
    # A new address waits for its own code; null removes it.
    changed = put(client, citizen, email="lan@example.com").json()
    assert (changed["email"], changed["email_verified"]) == ("lan@example.com", False)
    assert changed["channels"] == {"email": True, "webhook": True}
    removed = put(client, citizen, email=None).json()
    assert removed == DEFAULTS | {"channels": {"email": True, "webhook": True}}


def test_codes_are_refused_after_five_wrong_tries(
    app: FastAPI, client: TestClient, citizen: Account
) -> None:
    """Each wrong try counts although its request is refused and rolled back."""
    put(client, citizen, email="lan@example.com")
    code = sent_code(app, citizen)
    verify = f"{SETTINGS}/verify-email"

    for _ in range(contacts.CODE_ATTEMPTS):
        answer = client.post(verify, headers=citizen.headers, json={"code": wrong(code)})
        assert answer.status_code == 422
    spent = client.post(verify, headers=citizen.headers, json={"code": code})
    assert spent.status_code == 429
    assert spent.json()["type"] == "/problems/too-many-attempts"
    assert settings(client, citizen)["email_verified"] is False

    # Giving the address again sends a new code, which works.
    assert put(client, citizen, email="lan@example.com").status_code == 200
    fresh = sent_code(app, citizen)
    confirmed = client.post(verify, headers=citizen.headers, json={"code": fresh})
    assert confirmed.status_code == 200 and confirmed.json()["email_verified"] is True


def test_a_code_with_no_address_waiting_is_409(client: TestClient, citizen: Account) -> None:
    answer = client.post(f"{SETTINGS}/verify-email", headers=citizen.headers, json={"code": "1"})
    assert answer.status_code == 409
    assert answer.headers["content-type"] == "application/problem+json"


def test_helpers_are_added_confirmed_and_removed(
    app: FastAPI, client: TestClient, citizen: Account
) -> None:
    helpers = f"{SETTINGS}/helpers"
    son = client.post(
        helpers, headers=citizen.headers, json={"phone": "0905 123 456", "name": "Con trai Minh"}
    )
    assert son.status_code == 201, son.text
    helper = son.json()
    assert helper | {"id": None} == {
        "id": None,
        "kind": "phone",
        "address": "0905123456",
        "name": "Con trai Minh",
        "verified": False,
    }
    neighbour = client.post(helpers, headers=citizen.headers, json={"email": "to@example.vn"})
    assert neighbour.status_code == 201
    assert (neighbour.json()["kind"], neighbour.json()["name"]) == ("email", None)
    listed = settings(client, citizen)["helpers"]
    assert [h["id"] for h in listed] == [helper["id"], neighbour.json()["id"]]

    verify = f"{helpers}/{helper['id']}/verify"
    code = sent_code(app, citizen, helper["id"])
    refused = client.post(verify, headers=citizen.headers, json={"code": wrong(code)})
    assert refused.status_code == 422
    confirmed = client.post(verify, headers=citizen.headers, json={"code": code})
    assert confirmed.status_code == 200
    assert confirmed.json() == helper | {"verified": True}
    assert settings(client, citizen)["helpers"][0]["verified"] is True

    stranger = register(client, full_name="Trần Văn Bình")
    for method, path in (("POST", verify), ("DELETE", f"{helpers}/{helper['id']}")):
        answer = client.request(method, path, headers=stranger.headers, json={"code": code})
        assert answer.status_code == 404, (method, path)
    assert settings(client, stranger)["helpers"] == []

    removed = client.delete(f"{helpers}/{helper['id']}", headers=citizen.headers)
    assert removed.status_code == 204
    assert client.delete(f"{helpers}/{helper['id']}", headers=citizen.headers).status_code == 404
    assert [h["id"] for h in settings(client, citizen)["helpers"]] == [neighbour.json()["id"]]


BAD_HELPERS = {
    "nothing": {},
    "name-only": {"name": "Minh"},
    "both": {"email": "to@example.vn", "phone": "0905123456"},
    "both-null": {"email": None, "phone": None},
    "short-phone": {"phone": "12"},
    "bad-email": {"email": "to@"},
    "unknown": {"phone": "0905123456", "relation": "son"},
}


def test_a_helper_has_exactly_one_valid_address(client: TestClient, citizen: Account) -> None:
    for case, body in BAD_HELPERS.items():
        refused = client.post(f"{SETTINGS}/helpers", headers=citizen.headers, json=body)
        assert refused.status_code == 422, (case, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
        assert settings(client, citizen)["helpers"] == [], case


def test_codes_to_new_addresses_are_limited_to_five_an_hour(
    client: TestClient, citizen: Account
) -> None:
    """Else a citizen, or whoever holds their session, could make the vault write to strangers
    over and over."""
    for n in range(5):
        assert put(client, citizen, email=f"a{n}@example.vn").status_code == 200
    refused = put(client, citizen, email="a5@example.vn")
    assert refused.status_code == 429, refused.text
    assert 0 < int(refused.headers["retry-after"]) <= 3600
    helper = client.post(
        f"{SETTINGS}/helpers", headers=citizen.headers, json={"phone": "0905123456"}
    )
    assert helper.status_code == 429
    assert settings(client, citizen)["email"] == "a4@example.vn"
