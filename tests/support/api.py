"""Talking to the vault the way a client does."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

PASSWORD = "mật khẩu đủ dài"


def new_national_id(province: str = "048") -> str:
    century_and_sex, year = secrets.randbelow(2), secrets.randbelow(100)
    return f"{province}{century_and_sex}{year:02d}{secrets.randbelow(10**6):06d}"


@dataclass(frozen=True)
class Account:
    national_id: str
    headers: dict[str, str]
    id: str


def register(client: TestClient, *, full_name: str = "Nguyễn Văn An") -> Account:
    number = new_national_id()
    created = client.post(
        "/api/v1/citizens",
        json={"national_id": number, "full_name": full_name, "password": PASSWORD},
    )
    assert created.status_code == 201, created.text
    token = client.post("/api/v1/auth/token", data={"username": number, "password": PASSWORD})
    assert token.status_code == 200, token.text
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    return Account(number, headers, created.json()["id"])


def upload(
    client: TestClient,
    account: Account,
    *files: tuple[str, bytes],
    path: str = "/api/v1/documents",
    **fields: Any,
) -> Any:
    if path == "/api/v1/documents":
        fields.setdefault("doc_type", "GKS")
    return client.post(
        path,
        headers=account.headers,
        data=fields,
        files=[("file", (name, data, "application/octet-stream")) for name, data in files],
    )


@dataclass(frozen=True)
class AgencyAccount:
    code: str
    client_id: str
    client_secret: str
    headers: dict[str, str]


def register_agency(
    client: TestClient,
    code: str,
    name: str | None = None,
    *,
    level: str = "commune",
    public_key_pem: str | None = None,
) -> AgencyAccount:
    """An operator registers the agency; the agency then gets a token as an integrator would."""
    from vault import agencies, db

    engine = client.app.state.engine  # type: ignore[attr-defined]
    with db.unit_of_work(engine) as session:
        credentials = agencies.create(
            session,
            code=code,
            name=name or f"UBND {code}",
            level=level,
            public_key_pem=public_key_pem,
        )
    token = client.post(
        "/api/v1/agency/token",
        data={
            "grant_type": "client_credentials",
            "client_id": credentials.client_id,
            "client_secret": credentials.client_secret,
        },
    )
    assert token.status_code == 200, token.text
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    return AgencyAccount(code, credentials.client_id, credentials.client_secret, headers)


def share(
    client: TestClient, citizen: Account, agency: str, *document_ids: str, **extra: Any
) -> Any:
    body = {
        "agency": agency,
        "document_ids": list(document_ids),
        "purpose": "Đăng ký kết hôn",
        **extra,
    }
    return client.post("/api/v1/grants", headers=citizen.headers, json=body)
