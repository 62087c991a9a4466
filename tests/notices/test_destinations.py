"""A delivery goes where it was addressed when it was made: whoever has the password cannot
cancel or redirect the alert of their own login by changing the email or the phone before it
leaves, and the old email or phone is told of the change."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlmodel import select

from tests.api.test_notifications import SETTINGS, sent_code
from tests.support import jobs
from tests.support.api import PASSWORD, Account, register
from tests.support.sinks import SmtpSink, WebhookReceiver
from vault import db
from vault.accounts import citizens
from vault.jobs import tasks
from vault.jobs.work import Work
from vault.kit import days
from vault.notices import texts
from vault.notices.models import Delivery, DeliveryState, NoticeKind, Notification
from vault.settings import Settings

WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36"
CHANGED_EMAIL = "Email nhận thông báo đã thay đổi"
CHANGED_PHONE = "Số điện thoại đã thay đổi"
PHONE = "0905111222"


@pytest.fixture
def work(
    app: FastAPI, settings: Settings, smtp_sink: SmtpSink, receiver: WebhookReceiver
) -> Iterator[Work]:
    wired = jobs.wired(settings, receiver, smtp_url=SecretStr(smtp_sink.url))
    work = Work.from_settings(wired, engine=app.state.engine, keyring=app.state.backend.keyring)
    yield work
    work.connections.close()


def _deliver_all(work: Work) -> None:
    """What the worker does once it takes the jobs: each pending delivery, once."""
    with db.unit_of_work(work.engine, writes=False) as session:
        pending = session.exec(
            select(Delivery.id).where(Delivery.state == DeliveryState.PENDING)
        ).all()
    for delivery in pending:
        tasks.deliver(work, str(delivery))


def _thief_logs_in(client: TestClient, citizen: Account) -> dict[str, str]:
    form = {"username": citizen.national_id, "password": PASSWORD}
    token = client.post("/api/v1/auth/token", data=form, headers={"User-Agent": WINDOWS})
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def _kinds(client: TestClient, citizen: Account) -> list[str]:
    return [n["kind"] for n in client.get("/api/v1/notifications", headers=citizen.headers).json()]


def _confirmed_email(
    app: FastAPI, client: TestClient, work: Work, smtp_sink: SmtpSink, citizen: Account
) -> None:
    given = client.put(SETTINGS, headers=citizen.headers, json={"email": "an@example.vn"})
    assert given.status_code == 200, given.text
    code = {"code": sent_code(app, citizen)}
    confirmed = client.post(f"{SETTINGS}/verify-email", headers=citizen.headers, json=code)
    assert confirmed.json()["email_verified"], confirmed.text
    _deliver_all(work)
    smtp_sink.clear()


@pytest.mark.parametrize("replaced_by", [None, "thief@example.vn"])
def test_the_login_alert_reaches_the_email_the_thief_then_replaced_and_so_does_the_change(
    app: FastAPI,
    client: TestClient,
    work: Work,
    smtp_sink: SmtpSink,
    replaced_by: str | None,
) -> None:
    citizen = register(client)
    _confirmed_email(app, client, work, smtp_sink, citizen)
    thief = _thief_logs_in(client, citizen)

    taken = client.put(SETTINGS, headers=thief, json={"email": replaced_by})
    assert taken.status_code == 200, taken.text
    _deliver_all(work)

    to_owner = [m for m in smtp_sink.messages if m["To"] == "an@example.vn"]
    assert sorted(m["Subject"] for m in to_owner) == sorted(
        ["Đăng nhập từ thiết bị mới", CHANGED_EMAIL]
    )
    (changed,) = [m for m in to_owner if m["Subject"] == CHANGED_EMAIL]
    done = "đã bị gỡ bỏ" if replaced_by is None else "đã được đổi"
    assert done in changed.get_content() and "thief" not in changed.get_content()
    to_thief = [m["Subject"] for m in smtp_sink.messages if m["To"] != "an@example.vn"]
    assert to_thief == ([] if replaced_by is None else [texts.CODE_TITLE])  # its code, no more
    assert _kinds(client, citizen) == ["address_changed", "new_login"]


@pytest.mark.parametrize("replaced_by", [None, "0999888777"])
def test_the_login_sms_goes_to_the_phone_on_file_when_it_was_made_and_so_does_the_change(
    client: TestClient, work: Work, receiver: WebhookReceiver, replaced_by: str | None
) -> None:
    citizen = register(client)
    on_file = client.patch("/api/v1/citizens/me", headers=citizen.headers, json={"phone": PHONE})
    assert on_file.status_code == 200, on_file.text
    texting = client.put(SETTINGS, headers=citizen.headers, json={"channels": {"webhook": True}})
    assert texting.status_code == 200, texting.text
    thief = _thief_logs_in(client, citizen)

    taken = client.patch("/api/v1/citizens/me", headers=thief, json={"phone": replaced_by})
    assert taken.status_code == 200, taken.text
    _deliver_all(work)

    sent = sorted((p.json()["kind"], p.json()["phone"]) for p in receiver.delivered)
    assert sent == [("address_changed", PHONE), ("new_login", PHONE)]
    (changed,) = [p.json() for p in receiver.delivered if p.json()["kind"] == "address_changed"]
    done = "đã bị gỡ bỏ" if replaced_by is None else "đã được đổi"
    assert changed["title"] == CHANGED_PHONE and done in changed["body"]
    assert "0999888777" not in changed["body"]


def test_no_address_change_is_told_to_an_address_never_confirmed(
    client: TestClient, work: Work, smtp_sink: SmtpSink
) -> None:
    citizen = register(client)
    for address in ("first@example.vn", "second@example.vn"):
        given = client.put(SETTINGS, headers=citizen.headers, json={"email": address})
        assert given.status_code == 200, given.text
    _deliver_all(work)

    assert [(m["To"], m["Subject"]) for m in smtp_sink.messages] == [
        ("second@example.vn", texts.CODE_TITLE)  # the first's code was dropped with it
    ]
    assert _kinds(client, citizen) == []


def test_a_helper_removed_still_gets_what_was_addressed_to_them_but_no_code(
    app: FastAPI, client: TestClient, work: Work, smtp_sink: SmtpSink
) -> None:
    citizen = register(client)
    helpers = f"{SETTINGS}/helpers"
    helper = client.post(helpers, headers=citizen.headers, json={"email": "con@example.vn"}).json()
    code = {"code": sent_code(app, citizen, helper["id"])}
    confirmed = client.post(f"{helpers}/{helper['id']}/verify", headers=citizen.headers, json=code)
    assert confirmed.status_code == 200, confirmed.text
    with db.unit_of_work(app.state.engine) as session:
        notice = texts.paper_expired(uuid.uuid4(), "Hộ chiếu phổ thông", days.today())
        citizens.announce(session, app.state.backend.keyring, uuid.UUID(citizen.id), notice)
    unconfirmed = client.post(helpers, headers=citizen.headers, json={"email": "xom@example.vn"})
    for removed in (helper, unconfirmed.json()):
        gone = client.delete(f"{helpers}/{removed['id']}", headers=citizen.headers)
        assert gone.status_code == 204, gone.text

    _deliver_all(work)

    assert [(m["To"], m["Subject"]) for m in smtp_sink.messages] == [
        ("con@example.vn", "Giấy tờ đã hết hạn")
    ]
    with db.unit_of_work(app.state.engine, writes=False) as session:
        kinds = session.exec(select(Notification.kind)).all()
        states = session.exec(select(Delivery.state)).all()
    assert NoticeKind.ADDRESS_CHANGED not in kinds  # a helper is not the citizen's own address
    assert DeliveryState.PENDING not in states
