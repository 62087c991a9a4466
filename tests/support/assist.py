"""Officers at the counter and people acting for a citizen, the way the clients do it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from fastapi.testclient import TestClient

from tests.support.api import Account


@dataclass(frozen=True)
class OfficerAccount:
    username: str
    password: str
    agency: str
    headers: dict[str, str]


def register_officer(
    client: TestClient, agency: str, *, full_name: str = "Trần Văn Bình"
) -> OfficerAccount:
    """An operator adds the officer (`vault officer create`); the officer logs in on the API.
    The agency must exist (tests.support.api.register_agency)."""
    from vault import db
    from vault.accounts import officers

    username = f"canbo-{secrets.token_hex(4)}"
    with db.unit_of_work(client.app.state.engine) as session:  # type: ignore[attr-defined]
        _, password = officers.create(
            session, agency_code=agency, username=username, full_name=full_name
        )
    token = client.post("/api/v1/officer/token", data={"username": username, "password": password})
    assert token.status_code == 200, token.text
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    return OfficerAccount(username, password, agency, headers)


@dataclass(frozen=True)
class ActingToken:
    id: str
    headers: dict[str, str]
    expires_at: str


def ask(
    client: TestClient,
    officer: OfficerAccount,
    citizen: Account,
    scopes: tuple[str, ...] = ("documents:read", "documents:write"),
    minutes: int = 30,
    identity_check: str = "chip_card",
) -> str:
    asked = client.post(
        "/api/v1/assist/requests",
        headers=officer.headers,
        json={
            "national_id": citizen.national_id,
            "scopes": list(scopes),
            "minutes": minutes,
            "identity_check": identity_check,
        },
    )
    assert asked.status_code == 201, asked.text
    return str(asked.json()["id"])


def open_acting(
    client: TestClient,
    officer: OfficerAccount,
    citizen: Account,
    scopes: tuple[str, ...] = ("documents:read", "documents:write"),
    minutes: int = 30,
) -> ActingToken:
    """The officer asks, the citizen consents in their own session, the officer opens it."""
    request_id = ask(client, officer, citizen, scopes, minutes)
    approved = client.post(f"/api/v1/assist/requests/{request_id}/approve", headers=citizen.headers)
    assert approved.status_code == 200, approved.text
    opened = client.post(f"/api/v1/assist/requests/{request_id}/session", headers=officer.headers)
    assert opened.status_code == 201, opened.text
    body = opened.json()
    return ActingToken(
        body["id"], {"Authorization": f"Bearer {body['access_token']}"}, body["expires_at"]
    )


def acting_headers(
    client: TestClient,
    officer: OfficerAccount,
    citizen: Account,
    scopes: tuple[str, ...] = ("documents:read", "documents:write"),
    minutes: int = 30,
) -> dict[str, str]:
    """An officer's acting token for the citizen, through the whole consent flow."""
    return open_acting(client, officer, citizen, scopes, minutes).headers
