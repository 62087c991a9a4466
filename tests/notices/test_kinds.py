"""The notices that follow a login from a new device and an agency's accesses."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.support import files
from tests.support.api import PASSWORD, Account, register, register_agency, share, upload
from tests.support.env import settings_env
from vault.cli import app as cli
from vault.kit import days
from vault.settings import Settings

ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; SM-A155F) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36"
)


def _kinds(client: TestClient, account: Account) -> list[str]:
    return [n["kind"] for n in client.get("/api/v1/notifications", headers=account.headers).json()]


def _login(client: TestClient, account: Account, agent: str) -> None:
    form = {"username": account.national_id, "password": PASSWORD}
    answer = client.post("/api/v1/auth/token", data=form, headers={"User-Agent": agent})
    assert answer.status_code == 200


def test_a_login_from_a_new_device_is_announced_once(client: TestClient) -> None:
    citizen = register(client)  # its first device: the citizen's own sign-up, not news
    _login(client, citizen, "testclient")
    assert _kinds(client, citizen) == []
    _login(client, citizen, ANDROID)
    _login(client, citizen, ANDROID)
    notices = client.get("/api/v1/notifications", headers=citizen.headers).json()
    assert [n["kind"] for n in notices] == ["new_login"]
    assert notices[0]["title"] == "Đăng nhập từ thiết bị mới"
    assert "Chrome trên Android" in notices[0]["body"] and ANDROID not in notices[0]["body"]
    wrong = {"username": citizen.national_id, "password": "not the password"}
    client.post("/api/v1/auth/token", data=wrong, headers={"User-Agent": "Firefox/1"})
    assert _kinds(client, citizen) == ["new_login"]  # a refused login is no login


def test_agency_accesses_come_as_one_digest_a_day(client: TestClient, settings: Settings) -> None:
    citizen = register(client)
    agency = register_agency(client, "UBND-HAICHAU", "UBND phường Hải Châu")
    paper = upload(client, citizen, ("ks.pdf", files.pdf()), doc_type="GKS").json()
    token = share(client, citizen, agency.code, paper["id"]).json()["token"]
    for _ in range(3):
        path = f"/api/v1/shared/{token}/documents/{paper['id']}/content"
        assert client.get(path, headers=agency.headers).status_code == 200
    assert _kinds(client, citizen) == []  # not one message a fetch

    tomorrow = days.today() + timedelta(days=1)
    at = datetime.combine(tomorrow, time(7, 30), tzinfo=days.VIETNAM).isoformat()
    env = settings_env(settings)
    for _ in range(2):
        ran = CliRunner().invoke(cli, ["jobs", "run-due", "--at", at], env=env)
        assert ran.exit_code == 0, ran.output
    notices = client.get("/api/v1/notifications", headers=citizen.headers).json()
    assert [n["kind"] for n in notices] == ["shares_digest"]
    assert "đã được mở 3 lần" in notices[0]["body"]
    assert "UBND phường Hải Châu: 3 lần" in notices[0]["body"]
