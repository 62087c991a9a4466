"""Reminders before a paper expires: once per expiry date, whatever happens to the version."""

import uuid
from datetime import date, timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import col, select

from tests.support.api import Account, register, upload
from tests.support.files import png
from vault import db
from vault.accounts import citizens
from vault.documents import expiry
from vault.kit import days
from vault.notices.models import Notification


def remind(app: FastAPI, on: date) -> None:
    """The daily job's work for `on`."""
    with db.unit_of_work(app.state.engine) as session:
        for citizen, notice in expiry.due(session, on):
            citizens.announce(session, app.state.backend.keyring, citizen, notice)


def reminders(app: FastAPI, citizen: Account) -> list[str]:
    with db.unit_of_work(app.state.engine, writes=False) as session:
        rows = session.exec(
            select(Notification.dedup_key)
            .where(Notification.citizen_id == uuid.UUID(citizen.id))
            .order_by(col(Notification.created_at))
        )
        return [key.rsplit(":", 1)[-1] if key.startswith("expiring") else "expired" for key in rows]


def passport(client: TestClient, citizen: Account, expires_on: date) -> str:
    made = upload(client, citizen, ("hc.png", png()), doc_type="HC", expires_on=str(expires_on))
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def test_a_corrected_expiry_date_is_reminded_of_afresh(app: FastAPI, client: TestClient) -> None:
    """A misread date five days off used the 7-day reminder; the real date still gets its own."""
    citizen = register(client)
    today = days.today()
    paper = passport(client, citizen, today + timedelta(days=5))
    remind(app, today)
    real = today + timedelta(days=400)
    fixed = client.post(
        f"/api/v1/documents/{paper}/reading/accept",
        headers=citizen.headers,
        json={"doc_type": "HC", "expires_on": str(real)},
    )
    assert fixed.status_code == 200, fixed.text
    remind(app, real - timedelta(days=30))
    remind(app, real - timedelta(days=5))
    remind(app, real - timedelta(days=4))
    assert reminders(app, citizen) == ["7", "30", "7"]


def test_a_rescan_with_the_same_date_is_not_reminded_of_twice(
    app: FastAPI, client: TestClient
) -> None:
    citizen = register(client)
    today = days.today()
    expires_on = today + timedelta(days=20)
    paper = passport(client, citizen, expires_on)
    remind(app, today)
    again = upload(
        client,
        citizen,
        ("hc2.png", png(colour="red")),
        path=f"/api/v1/documents/{paper}/versions",
        doc_type="HC",
        expires_on=str(expires_on),
    )
    assert again.status_code == 201, again.text
    remind(app, today + timedelta(days=1))
    remind(app, expires_on + timedelta(days=1))
    remind(app, expires_on + timedelta(days=2))
    assert reminders(app, citizen) == ["30", "expired"]
