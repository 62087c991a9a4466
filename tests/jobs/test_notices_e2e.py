"""Reminders and notices end to end, through the real API and CLI, into a real SMTP server
and a real webhook receiver."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from time import monotonic

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from typer.testing import CliRunner

from tests.conftest import Stack
from tests.dossiers.test_dossiers import FORM, MARRIAGE
from tests.support import files, jobs
from tests.support.api import Account, register, register_agency, upload
from tests.support.env import settings_env
from tests.support.sinks import SmtpSink, WebhookReceiver
from vault import bootstrap, db
from vault.accounts import citizens
from vault.app import create_app
from vault.cli import app as cli
from vault.jobs.runner import jobs as runner_jobs_of
from vault.kit import days
from vault.notices import channels, contacts, texts
from vault.settings import Settings

pytestmark = pytest.mark.journey  # whole journeys: the full tier, not the edit loop

runner = CliRunner()
PHONE = "0905123456"


@pytest.fixture
def wired(settings: Settings, smtp_sink: SmtpSink, receiver: WebhookReceiver) -> Settings:
    return jobs.wired(
        settings,
        receiver,
        smtp_url=SecretStr(smtp_sink.url),
        public_url="https://vault.example.vn",
    )


@pytest.fixture
def served(wired: Settings) -> Iterator[TestClient]:
    bootstrap.prepare(wired)
    app = create_app(wired)
    with TestClient(app) as client:
        yield client
    app.state.engine.dispose()


def runner_jobs(settings: Settings) -> list[object]:
    return list(runner_jobs_of(settings, failed=False))


def _vault(settings: Settings, *args: str) -> str:
    result = runner.invoke(cli, list(args), env=settings_env(settings))
    assert result.exit_code == 0, result.output
    return result.output


def _nine_am(day: date) -> str:
    return datetime.combine(day, time(9, 0), tzinfo=days.VIETNAM).isoformat()


def _citizen(client: TestClient) -> Account:
    account = register(client)
    put = client.patch("/api/v1/citizens/me", headers=account.headers, json={"phone": PHONE})
    assert put.status_code == 200, put.text
    return account


def _confirm_email(
    client: TestClient,
    settings: Settings,
    smtp_sink: SmtpSink,
    account: Account,
    address: str,
) -> None:
    """Give the address and type back the code it receives; the code goes out through a
    `vault worker --burst`, or, when the server runs the queue itself, with no command."""
    chosen = client.put(
        "/api/v1/citizens/me/notifications",
        headers=account.headers,
        json={"email": address, "channels": {"email": True, "webhook": True}},
    )
    assert chosen.status_code == 200, chosen.text
    assert chosen.json()["email_verified"] is False
    if not settings.serve_runs_jobs:
        _vault(settings, "worker", "--burst")
    message = next(m for m in smtp_sink.wait_for(1) if m["To"] == address)
    code = re.search(r"\b(\d{6})\b", message.get_content()).group(1)  # type: ignore[union-attr]
    verified = client.post(
        "/api/v1/citizens/me/notifications/verify-email",
        headers=account.headers,
        json={"code": code},
    )
    assert verified.status_code == 200 and verified.json()["email_verified"] is True
    smtp_sink.clear()


def _inbox(client: TestClient, account: Account) -> list[dict]:
    listed = client.get("/api/v1/notifications", headers=account.headers)
    assert listed.status_code == 200, listed.text
    return listed.json()  # type: ignore[no-any-return]


def test_expiry_reminders_arrive_once_on_every_channel_and_say_nothing_of_the_paper(
    served: TestClient, wired: Settings, smtp_sink: SmtpSink, receiver: WebhookReceiver
) -> None:
    client = served
    today = days.today()
    citizen = _citizen(client)
    _confirm_email(client, wired, smtp_sink, citizen, "ba@example.vn")
    stranger = _citizen(client)
    unconfirmed = client.put(
        "/api/v1/citizens/me/notifications",
        headers=stranger.headers,
        json={"email": "someone.else@example.vn"},
    )
    assert unconfirmed.status_code == 200
    for account in (citizen, stranger):
        stored = upload(
            client,
            account,
            ("cccd.pdf", files.pdf()),
            doc_type="CCCD",
            number=account.national_id,
            issued_on=str(today - timedelta(days=3000)),
            expires_on=str(today + timedelta(days=25)),
        )
        assert stored.status_code == 201, stored.text
    _vault(wired, "worker", "--burst")
    assert [m["To"] for m in smtp_sink.messages] == ["someone.else@example.vn"]  # its code, no more
    smtp_sink.clear()
    receiver.clear()

    ran = _vault(wired, "jobs", "run-due", "--at", _nine_am(today))
    assert "enqueued expiry_reminders" in ran
    notices = _inbox(client, citizen)
    assert [n["kind"] for n in notices] == ["paper_expiring"]
    assert "còn 25 ngày" in notices[0]["body"] and notices[0]["read_at"] is None
    assert notices[0]["title"] == "Giấy tờ sắp hết hạn"
    mails = smtp_sink.wait_for(1)
    assert [m["To"] for m in mails] == ["ba@example.vn"]  # the unconfirmed address gets nothing
    assert mails[0]["Subject"] == "Giấy tờ sắp hết hạn"
    hooks = receiver.wait_delivered(1)
    assert len(hooks) == 1
    payload = hooks[0].json()
    assert channels.verify(
        jobs.SECRET.encode(), hooks[0].body, hooks[0].headers["x-vault-signature"]
    )
    assert not channels.verify(
        b"another secret", hooks[0].body, hooks[0].headers["x-vault-signature"]
    )
    assert set(payload) == {
        "event_id",
        "kind",
        "phone",
        "email",
        "language",
        "title",
        "body",
        "link",
        "created_at",
    }
    assert (payload["kind"], payload["phone"], payload["email"], payload["language"]) == (
        "paper_expiring",
        PHONE,
        "ba@example.vn",
        "vi",
    )
    assert payload["link"].startswith("https://vault.example.vn/papers/")
    assert _inbox(client, stranger)[0]["kind"] == "paper_expiring"  # in the vault, not mailed

    again = _vault(wired, "jobs", "run-due", "--at", _nine_am(today))
    assert "enqueued" not in again
    _vault(wired, "jobs", "run-due", "--at", _nine_am(today + timedelta(days=1)))
    assert len(_inbox(client, citizen)) == 1
    assert len(smtp_sink.messages) == 1 and len(receiver.delivered) == 1

    _vault(wired, "jobs", "run-due", "--at", _nine_am(today + timedelta(days=19)))
    notices = _inbox(client, citizen)
    assert [n["kind"] for n in notices] == ["paper_expiring", "paper_expiring"]
    assert "còn 6 ngày" in notices[0]["body"]
    _vault(wired, "jobs", "run-due", "--at", _nine_am(today + timedelta(days=26)))
    notices = _inbox(client, citizen)
    assert notices[0]["kind"] == "paper_expired" and len(notices) == 3
    assert len(smtp_sink.wait_for(3)) == 3 and len(receiver.wait_delivered(3)) == 3

    said = [m.as_string() for m in smtp_sink.messages] + [
        h.body.decode() for h in receiver.received
    ]
    said += [json.dumps(n, ensure_ascii=False) for n in _inbox(client, citizen)]
    for text in said:
        assert citizen.national_id not in text and stranger.national_id not in text


@pytest.mark.parametrize("stack", [Stack("sqlite", "file")], indirect=True, ids=str)
def test_an_agency_asking_for_a_supplement_reaches_the_citizen_without_a_command(
    wired: Settings, smtp_sink: SmtpSink
) -> None:
    """The embedded default: `vault serve` alone runs the queue."""
    settings = wired.model_copy(update={"serve_runs_jobs": True})
    bootstrap.prepare(settings)
    app = create_app(settings)
    with TestClient(app) as client:
        citizen = _citizen(client)
        _confirm_email(client, settings, smtp_sink, citizen, "c@example.vn")
        agency = register_agency(client, "UBND-HAICHAU", "UBND phường Hải Châu")
        upload(client, citizen, ("cccd.pdf", files.pdf()), doc_type="CCCD")
        upload(
            client, citizen, ("xn.pdf", files.pdf()), doc_type="XNTTHN", issued_on=str(days.today())
        )
        dossier = client.post(
            "/api/v1/dossiers",
            headers=citizen.headers,
            json={"procedure": MARRIAGE, "agency": agency.code},
        ).json()
        client.patch(f"/api/v1/dossiers/{dossier['id']}/form", headers=citizen.headers, json=FORM)
        sent = client.post(f"/api/v1/dossiers/{dossier['id']}/submit", headers=citizen.headers)
        assert sent.status_code == 200, sent.text

        asked = client.post(
            f"/api/v1/agency/dossiers/{dossier['id']}/status",
            headers=agency.headers,
            json={"status": "needs_supplement", "note": "Thiếu bản sao sổ hộ khẩu số 0123456789"},
        )
        assert asked.status_code == 200, asked.text
        started = monotonic()
        notice = _inbox(client, citizen)[0]
        assert (notice["kind"], notice["title"]) == ("dossier_status", "Hồ sơ cần bổ sung")
        assert "UBND phường Hải Châu" in notice["body"] and "Đăng ký kết hôn" in notice["body"]
        assert "0123456789" not in notice["body"] and "Thiếu bản sao sổ hộ khẩu" in notice["body"]
        mail = smtp_sink.wait_for(1, timeout=10)[0]
        assert mail["Subject"] == "Hồ sơ cần bổ sung"
        assert monotonic() - started < 10
    app.state.engine.dispose()


def test_a_rolled_back_change_enqueues_nothing(app: FastAPI, client: TestClient) -> None:
    citizen = register(client)
    notice = texts.paper_expired(uuid.uuid4(), "Hộ chiếu phổ thông", days.today())
    before = runner_jobs(app.state.settings)
    with pytest.raises(RuntimeError), db.unit_of_work(app.state.engine) as session:
        chosen = contacts.update(
            session, app.state.backend.keyring, uuid.UUID(citizen.id), webhook_on=True
        )
        assert chosen.webhook_on
        assert citizens.announce(session, app.state.backend.keyring, uuid.UUID(citizen.id), notice)
        assert len(runner_jobs(app.state.settings)) == len(before)  # not committed: unseen
        raise RuntimeError("the change fails after the notice was announced")
    assert _inbox(client, citizen) == []
    assert runner_jobs(app.state.settings) == before
    chosen_now = client.get("/api/v1/citizens/me/notifications", headers=citizen.headers).json()
    assert chosen_now["channels"] == {"email": True, "webhook": False}
    with db.unit_of_work(app.state.engine) as session:
        contacts.update(session, app.state.backend.keyring, uuid.UUID(citizen.id), webhook_on=True)
        citizens.announce(session, app.state.backend.keyring, uuid.UUID(citizen.id), notice)
    assert len(runner_jobs(app.state.settings)) == len(before) + 1  # committed: its job is there
    assert [n["kind"] for n in _inbox(client, citizen)] == ["paper_expired"]
