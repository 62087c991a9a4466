"""Use counting under real concurrency, through a real server on PostgreSQL and S3."""

import secrets
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
import pytest

from tests.conftest import Stack
from tests.support import files
from tests.support.api import PASSWORD, new_national_id
from tests.support.env import settings_env
from tests.support.server import vault_server
from vault import agencies, db
from vault.settings import Settings


@pytest.mark.servers
@pytest.mark.parametrize(
    "stack", [Stack("postgresql", "s3"), Stack("sqlite", "file")], indirect=True, ids=str
)
def test_one_use_grant_under_twenty_concurrent_downloads(
    settings: Settings, tmp_path: Path
) -> None:
    engine = db.make_engine(settings.resolved_database_url)
    with vault_server(settings_env(settings), tmp_path) as server:
        with db.unit_of_work(engine) as session:
            credentials = agencies.create(session, code=f"A-{secrets.token_hex(3)}", name="UBND")
        engine.dispose()
        with httpx2.Client(base_url=server.url, timeout=60) as client:
            number = new_national_id()
            client.post(
                "/api/v1/citizens",
                json={"national_id": number, "full_name": "A", "password": PASSWORD},
            )
            token = client.post(
                "/api/v1/auth/token", data={"username": number, "password": PASSWORD}
            ).json()
            citizen = {"Authorization": f"Bearer {token['access_token']}"}
            paper = client.post(
                "/api/v1/documents",
                headers=citizen,
                data={"doc_type": "GKS"},
                files={"file": ("a.pdf", files.pdf())},
            ).json()
            grant = client.post(
                "/api/v1/grants",
                headers=citizen,
                json={
                    "agency": credentials.code,
                    "document_ids": [paper["id"]],
                    "purpose": "Thử",
                    "max_uses": 1,
                },
            ).json()
            agency_token = client.post(
                "/api/v1/agency/token",
                data={"grant_type": "client_credentials"},
                auth=(credentials.client_id, credentials.client_secret),
            ).json()["access_token"]
            url = f"/api/v1/shared/{grant['token']}/documents/{paper['id']}/content"

            def download(_: int) -> int:
                with httpx2.Client(base_url=server.url, timeout=60) as own:
                    return own.get(
                        url, headers={"Authorization": f"Bearer {agency_token}"}
                    ).status_code

            with ThreadPoolExecutor(max_workers=20) as pool:
                statuses = list(pool.map(download, range(20)))
            assert sorted(statuses) == [200] + [410] * 19
            state = client.get(f"/api/v1/grants/{grant['id']}", headers=citizen).json()
            assert (state["uses"], state["status"]) == (1, "used_up")
            log = client.get("/api/v1/access-log", headers=citizen).json()
            assert sorted(e["outcome"] for e in log) == ["denied"] * 19 + ["success"]
    # The share token travelled in twenty URL paths; it reached no log line.
    assert grant["token"] not in server.log.read_text()
    assert "/api/v1/shared/[redacted]/documents" in server.log.read_text()
