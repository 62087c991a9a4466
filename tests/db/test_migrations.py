"""Migrations keep what the database holds, both ways, on both databases."""

import hashlib
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import inspect, text
from sqlmodel import select
from typer.testing import CliRunner

from tests.api.test_notifications import SETTINGS, sent_code
from tests.support import files, jobs
from tests.support.api import PASSWORD, Account, register, register_agency, share, upload
from tests.support.at_rest import raw_database
from tests.support.env import settings_env
from tests.support.sinks import SmtpSink, WebhookReceiver
from vault import db
from vault.accounts import citizens
from vault.app import create_app
from vault.cli import app as cli
from vault.crypto import MasterKeyError, masterkeys
from vault.documents import expiry
from vault.jobs import tasks
from vault.jobs.work import Work
from vault.kit import days
from vault.notices import inbox, texts
from vault.notices.models import Channel, Delivery, DeliveryState, Medium, Notification
from vault.notices.sealing import Destination
from vault.settings import Settings

MARRIAGE_FORM = {
    "ho_ten_ben_kia": "Lê Văn Bình",
    "so_dinh_danh_ben_kia": "048094009876",
    "ngay_sinh_ben_kia": "1994-05-02",
    "noi_cu_tru_ben_kia": "Đà Nẵng",
    "ket_hon_lan_thu": "Lần đầu",
    "ngay_sinh": "1995-01-01",
    "noi_cu_tru": "Đà Nẵng",
}


def _counts(app: FastAPI) -> dict[str, int]:
    with app.state.engine.connect() as connection:
        return {
            table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("share_grant", "share_grant_document", "agency_token", "agency")
        }


@pytest.mark.parametrize("target", ["0002", "0003"])
def test_a_downgrade_and_upgrade_keep_the_grants(
    app: FastAPI, client: TestClient, settings: Settings, target: str
) -> None:
    """SQLite rebuilds a table to drop a column; with foreign keys on, dropping the old table
    cascaded into every grant and agency token."""
    citizen = register(client)
    agency = register_agency(client, "UBND-A")
    paper = upload(client, citizen, ("a.pdf", files.pdf())).json()
    assert share(client, citizen, agency.code, paper["id"]).status_code == 201
    before = _counts(app)
    app.state.engine.dispose()
    master = masterkeys.load(settings.resolved_master_key_file)
    config = db.alembic_config(settings.resolved_database_url, master=master)
    command.downgrade(config, target)
    assert _counts(app) == before
    command.upgrade(config, "head")
    assert _counts(app) == before


def test_national_ids_are_sealed_on_the_way_up_and_restored_on_the_way_down(
    app: FastAPI, client: TestClient, settings: Settings
) -> None:
    """From the previous head with clear numbers to index and ciphertext, through the path
    `vault serve` takes; nothing of the numbers is left in the database's files."""
    people = [register(client) for _ in range(3)]
    numbers = {person.national_id for person in people}
    # A failed login counted under the old scheme: its key is a plain hash of the number.
    digest = hashlib.sha256(f"citizen:{people[0].national_id}".encode()).hexdigest()
    app.state.engine.dispose()
    url = settings.resolved_database_url
    master = masterkeys.load(settings.resolved_master_key_file)
    command.downgrade(db.alembic_config(url, master=master), "0004")
    with app.state.engine.begin() as connection:
        assert set(connection.execute(text("SELECT national_id FROM citizen")).scalars()) == numbers
        connection.execute(
            text(
                "INSERT INTO login_throttle (key, failures, window_started_at) "
                "VALUES (:key, 1, CURRENT_TIMESTAMP)"
            ),
            {"key": f"account:{digest}"},
        )
    assert "index_key" not in inspect(app.state.engine).get_table_names()
    app.state.engine.dispose()
    db.upgrade(url, master=master)

    stolen = raw_database(app, settings)
    for number in numbers:
        assert number.encode() not in stolen
    assert digest.encode() not in stolen
    restarted = create_app(settings)
    with TestClient(restarted) as fresh:
        for person in people:
            login = fresh.post(
                "/api/v1/auth/token", data={"username": person.national_id, "password": PASSWORD}
            )
            assert login.status_code == 200, login.text
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            me = fresh.get("/api/v1/citizens/me", headers=headers).json()
            assert me["national_id"] == person.national_id
        again = {"national_id": people[1].national_id, "full_name": "A", "password": PASSWORD}
        assert fresh.post("/api/v1/citizens", json=again).status_code == 409
    restarted.state.engine.dispose()
    for number in numbers:
        assert number.encode() not in raw_database(app, settings)


def test_vault_db_upgrade_reads_the_key_file_and_says_when_it_is_missing(
    app: FastAPI, client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    person = register(client)
    app.state.engine.dispose()
    master = masterkeys.load(settings.resolved_master_key_file)
    command.downgrade(db.alembic_config(settings.resolved_database_url, master=master), "0005")
    env = settings_env(settings)
    runner = CliRunner()

    without = {**env, "VAULT_MASTER_KEY_FILE": str(tmp_path / "elsewhere.key")}
    refused = runner.invoke(cli, ["db", "upgrade"], env=without)
    assert refused.exit_code == 2 and "needs the master keys" in refused.output
    with app.state.engine.connect() as connection:
        assert (
            connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0005"
        )
    app.state.engine.dispose()
    upgraded = runner.invoke(cli, ["db", "upgrade"], env=env)
    assert upgraded.exit_code == 0, upgraded.output

    restarted = create_app(settings)
    with TestClient(restarted) as fresh:
        login = {"username": person.national_id, "password": PASSWORD}
        assert fresh.post("/api/v1/auth/token", data=login).status_code == 200
    restarted.state.engine.dispose()


def _attachments(app: FastAPI) -> list[tuple[str, str]]:
    with app.state.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT doc_type, reason FROM dossier_attachment ORDER BY doc_type")
        )
        return [(doc_type, reason) for doc_type, reason in rows]


def test_dossier_attachment_reasons_down_and_up(
    app: FastAPI, client: TestClient, settings: Settings
) -> None:
    """Before 0007 a dossier had rows for attached papers only: the downgrade drops the rows
    for papers it went without and keeps the others, which come back up as `attached`."""
    citizen = register(client)
    agency = register_agency(client, "UBND-A")
    upload(client, citizen, ("cccd.pdf", files.pdf()), doc_type="CCCD")
    body = {"procedure": "1.000894", "agency": agency.code}
    dossier = client.post("/api/v1/dossiers", headers=citizen.headers, json=body).json()
    assert _attachments(app) == [
        ("CCCD", "attached"),
        ("XNCT", "none_stored"),
        ("XNTTHN", "none_stored"),
    ]
    app.state.engine.dispose()
    config = db.alembic_config(settings.resolved_database_url)
    command.downgrade(config, "0006")
    with app.state.engine.connect() as connection:
        rows = connection.execute(text("SELECT doc_type FROM dossier_attachment")).all()
    assert [doc_type for (doc_type,) in rows] == ["CCCD"]
    app.state.engine.dispose()
    command.upgrade(config, "head")
    assert _attachments(app) == [("CCCD", "attached")]
    columns = {c["name"]: c for c in inspect(app.state.engine).get_columns("dossier_attachment")}
    assert columns["reason"]["default"] is None and columns["document_id"]["nullable"]
    view = client.get(f"/api/v1/dossiers/{dossier['id']}", headers=citizen.headers).json()
    assert [a["doc_type"] for a in view["attachments"]] == ["CCCD"]
    assert {(m["doc_type"], m["reason"]) for m in view["missing"]} == {
        ("XNTTHN", "none_stored"),
        ("XNCT", "none_stored"),
    }


def _grant_states(client: TestClient, citizen: Account) -> dict[str, str]:
    grants = client.get("/api/v1/grants", headers=citizen.headers).json()
    return {grant["purpose"]: grant["status"] for grant in grants}


def test_grants_ended_with_a_completed_dossier_come_back_up_completed(
    app: FastAPI, client: TestClient, settings: Settings
) -> None:
    """0008 backfills how ended grants ended: with the completed dossier they were made for,
    or revoked (a dossier's grant the citizen revoked before completion included)."""
    citizen = register(client)
    agency = register_agency(client, "UBND-A")
    paper = upload(client, citizen, ("a.pdf", files.pdf())).json()
    share(client, citizen, agency.code, paper["id"], purpose="kept")
    revoked = share(client, citizen, agency.code, paper["id"], purpose="revoked").json()
    client.delete(f"/api/v1/grants/{revoked['id']}", headers=citizen.headers)
    upload(client, citizen, ("cccd.pdf", files.pdf()), doc_type="CCCD")
    upload(client, citizen, ("xn.pdf", files.pdf()), doc_type="XNTTHN", issued_on=str(days.today()))
    dossiers = []
    for _ in range(2):
        body = {"procedure": "1.000894", "agency": agency.code}
        draft = client.post("/api/v1/dossiers", headers=citizen.headers, json=body).json()
        path = f"/api/v1/dossiers/{draft['id']}"
        client.patch(f"{path}/form", headers=citizen.headers, json=MARRIAGE_FORM)
        dossiers.append(client.post(f"{path}/submit", headers=citizen.headers).json())
    first, second = dossiers
    client.delete(f"/api/v1/grants/{second['grant_id']}", headers=citizen.headers)
    for dossier in dossiers:
        done = client.post(
            f"/api/v1/agency/dossiers/{dossier['id']}/status",
            headers=agency.headers,
            json={"status": "completed"},
        )
        assert done.status_code == 200, done.text
    purposes = {
        g["id"]: g["purpose"] for g in client.get("/api/v1/grants", headers=citizen.headers).json()
    }
    expected = {
        "kept": "active",
        "revoked": "revoked",
        purposes[first["grant_id"]]: "completed",
        purposes[second["grant_id"]]: "revoked",
    }
    assert _grant_states(client, citizen) == expected
    app.state.engine.dispose()
    config = db.alembic_config(settings.resolved_database_url)
    command.downgrade(config, "0007")
    assert "ended_as" not in {
        c["name"] for c in inspect(app.state.engine).get_columns("share_grant")
    }
    app.state.engine.dispose()
    command.upgrade(config, "head")
    assert _grant_states(client, citizen) == expected


def test_reminders_sent_before_0021_are_rewritten_to_their_date_and_not_sent_again(
    app: FastAPI, client: TestClient, settings: Settings
) -> None:
    citizen = register(client)
    expires_on = days.today() + timedelta(days=20)
    made = upload(
        client, citizen, ("hc.png", files.png()), doc_type="HC", expires_on=str(expires_on)
    )
    paper = made.json()["id"]
    with db.unit_of_work(app.state.engine) as session:
        for owner, notice in expiry.due(session, days.today()):
            citizens.announce(session, app.state.backend.keyring, owner, notice)
    app.state.engine.dispose()
    config = db.alembic_config(settings.resolved_database_url)
    command.downgrade(config, "0020")
    with app.state.engine.begin() as connection:  # as 0020's vault wrote it: by version
        connection.execute(
            text("UPDATE notification SET dedup_key = :key"),
            {"key": f"expiring:{uuid.UUID(paper)}:1:30"},
        )
    app.state.engine.dispose()
    command.upgrade(config, "head")
    with app.state.engine.connect() as connection:
        keys = connection.execute(text("SELECT dedup_key FROM notification")).scalars().all()
    assert keys == [f"expiring:{uuid.UUID(paper)}:{expires_on.isoformat()}:30"]
    with db.unit_of_work(app.state.engine, writes=False) as session:
        assert expiry.due(session, days.today() + timedelta(days=1)) == []


def _helper(app: FastAPI, client: TestClient, citizen: Account, address: str) -> str:
    helper = client.post(f"{SETTINGS}/helpers", headers=citizen.headers, json={"email": address})
    code = {"code": sent_code(app, citizen, helper.json()["id"])}
    path = f"{SETTINGS}/helpers/{helper.json()['id']}/verify"
    assert client.post(path, headers=citizen.headers, json=code).status_code == 200
    return str(helper.json()["id"])


def _pending(app: FastAPI) -> list[Delivery]:
    with db.unit_of_work(app.state.engine, writes=False) as session:
        query = select(Delivery).where(Delivery.state == DeliveryState.PENDING)
        return list(session.exec(query).all())


def test_deliveries_pending_at_0022_are_addressed_as_their_job_would_have_and_go_there(
    app: FastAPI,
    client: TestClient,
    settings: Settings,
    smtp_sink: SmtpSink,
    receiver: WebhookReceiver,
) -> None:
    """Up: from their contact, or for the webhook from the phone on file and the confirmed
    email, so a contact removed afterwards takes nothing with it. Down: what the cascade would
    have dropped is dropped (a removed helper's), and the notices of a changed address, a kind
    0021 cannot read."""
    citizen = register(client)
    owner = uuid.UUID(citizen.id)
    keyring = app.state.backend.keyring
    client.patch("/api/v1/citizens/me", headers=citizen.headers, json={"phone": "0905123456"})
    chosen = {"email": "an@example.vn", "channels": {"webhook": True}}
    client.put(SETTINGS, headers=citizen.headers, json=chosen)
    code = {"code": sent_code(app, citizen)}
    assert client.post(f"{SETTINGS}/verify-email", headers=citizen.headers, json=code).json()[
        "email_verified"
    ]
    kept, removed = (_helper(app, client, citizen, a) for a in ("a@example.vn", "b@example.vn"))
    with db.unit_of_work(app.state.engine) as session:
        notice = texts.paper_expired(uuid.uuid4(), "Hộ chiếu phổ thông", days.today())
        citizens.announce(session, keyring, owner, notice)
        changed = texts.address_changed(uuid.uuid4(), db.utc_now(), Medium.PHONE, removed=True)
        inbox.tell_replaced(
            session, keyring, owner, changed, Channel.WEBHOOK, Destination(phone="0911000111")
        )
    client.delete(f"{SETTINGS}/helpers/{removed}", headers=citizen.headers)
    assert len(_pending(app)) == 5
    app.state.engine.dispose()
    url = settings.resolved_database_url
    master = masterkeys.load(settings.resolved_master_key_file)

    command.downgrade(db.alembic_config(url, master=master), "0021")
    with app.state.engine.connect() as connection:
        kinds = connection.execute(text("SELECT kind FROM notification")).scalars().all()
        left = connection.execute(text("SELECT count(*) FROM delivery")).scalar_one()
    assert (kinds, left) == (["paper_expired"], 3)
    keys = inspect(app.state.engine).get_foreign_keys("delivery")
    (key,) = [k for k in keys if k["constrained_columns"] == ["contact_id"]]
    assert (key["referred_table"], key["options"]) == ("notice_contact", {"ondelete": "CASCADE"})
    app.state.engine.dispose()
    with pytest.raises(MasterKeyError, match="0022"):
        command.upgrade(db.alembic_config(url), "head")
    app.state.engine.dispose()
    command.upgrade(db.alembic_config(url, master=master), "head")

    assert all(delivery.sealed_to for delivery in _pending(app))
    client.delete(f"{SETTINGS}/helpers/{kept}", headers=citizen.headers)
    client.put(SETTINGS, headers=citizen.headers, json={"email": None})
    smtp_sink.clear()
    wired = jobs.wired(settings, receiver, smtp_url=SecretStr(smtp_sink.url))
    work = Work.from_settings(wired, engine=app.state.engine, keyring=keyring)
    try:
        for delivery in _pending(app):
            tasks.deliver(work, str(delivery.id))
    finally:
        work.connections.close()
    mails = sorted((m["To"], m["Subject"]) for m in smtp_sink.messages)
    assert mails == [
        ("a@example.vn", "Giấy tờ đã hết hạn"),
        ("an@example.vn", "Email nhận thông báo đã thay đổi"),
        ("an@example.vn", "Giấy tờ đã hết hạn"),
    ]
    (posted,) = [p.json() for p in receiver.delivered]
    assert (posted["kind"], posted["phone"], posted["email"]) == (
        "paper_expired",
        "0905123456",
        "an@example.vn",
    )
    with db.unit_of_work(app.state.engine, writes=False) as session:
        assert session.exec(select(Notification.kind)).all().count("address_changed") == 1
