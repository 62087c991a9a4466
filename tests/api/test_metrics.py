"""/metrics: what an operator alerts on — requests by route template, bodies, logins, grant
outcomes by reason, failures of the parts the vault depends on — and, under
`vault serve --workers 2`, every worker's requests whichever worker answers the scrape."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx2
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import Stack
from tests.support import api, files
from tests.support.env import settings_env
from tests.support.server import vault_server
from vault.app import create_app
from vault.settings import Settings

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def _samples(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_requests_bodies_logins_and_grant_outcomes_are_counted(client: TestClient) -> None:
    before = _samples(client.get("/metrics").text)
    owner = api.register(client)
    paper = api.upload(client, owner, ("giay.pdf", files.pdf())).json()["id"]
    agency = api.register_agency(client, "UBND-M")
    grant = api.share(client, owner, "UBND-M", paper).json()
    fetch = f"/api/v1/shared/{grant['token']}/documents/{paper}/content"
    assert client.get(fetch, headers=agency.headers).status_code == 200
    client.delete(f"/api/v1/grants/{grant['id']}", headers=owner.headers)
    assert client.get(fetch, headers=agency.headers).status_code == 410
    wrong = client.post(
        "/api/v1/auth/token", data={"username": owner.national_id, "password": "not it at all"}
    )
    assert wrong.status_code == 401
    after = _samples(client.get("/metrics").text)

    def grew(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    route = "/api/v1/shared/{token}/documents/{document_id}/content"
    assert grew("vault_http_requests_total", route=route, method="GET", status="200") == 1
    assert grew("vault_http_requests_total", route=route, method="GET", status="410") == 1
    assert grew("vault_http_request_duration_seconds_count", route=route, method="GET") == 2
    # A paper's id or a share's token never becomes a label.
    assert not any(paper in str(key) or grant["token"] in str(key) for key in after)
    assert grew("vault_http_body_bytes_total", direction="in") >= len(files.pdf())
    assert grew("vault_http_body_bytes_total", direction="out") >= len(files.pdf())
    assert grew("vault_logins_total", outcome="success") >= 1
    assert grew("vault_logins_total", outcome="failure") == 1
    assert (
        grew("vault_audit_events_total", action="share.download", outcome="success", reason="") == 1
    )
    assert (
        grew(
            "vault_audit_events_total", action="share.download", outcome="denied", reason="revoked"
        )
        == 1
    )


def test_an_unmatched_path_is_one_label_whatever_the_path(client: TestClient) -> None:
    for n in range(3):
        assert client.get(f"/no/such/path/{n}").status_code == 404
    samples = _samples(client.get("/metrics").text)
    assert (
        _value(samples, "vault_http_requests_total", route="unmatched", method="GET", status="404")
        >= 3
    )
    assert not any("/no/such/path" in str(key) for key in samples)


@pytest.mark.parametrize("stack", [Stack("sqlite", "s3")], indirect=True, ids=str)
def test_a_store_outage_is_counted(app: FastAPI, settings: Settings) -> None:
    with TestClient(app) as client:
        citizen = api.register(client)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    down = create_app(settings.model_copy(update={"s3_endpoint": f"127.0.0.1:{dead}"}))
    with TestClient(down) as client:
        before = _samples(client.get("/metrics").text)
        assert api.upload(client, citizen, ("a.pdf", files.pdf())).status_code == 503
        after = _samples(client.get("/metrics").text)
    down.state.engine.dispose()
    grew = _value(after, "vault_backend_errors_total", part="store") - _value(
        before, "vault_backend_errors_total", part="store"
    )
    assert grew == 1


@pytest.mark.servers
@pytest.mark.parametrize("stack", [Stack("sqlite", "file")], indirect=True, ids=str)
def test_every_workers_requests_are_in_any_workers_scrape(
    settings: Settings, tmp_path: Path
) -> None:
    with (
        vault_server(settings_env(settings), tmp_path, workers=2) as server,
        httpx2.Client(base_url=server.url, timeout=60) as http,
    ):
        for _ in range(40):
            assert http.get("/healthz").status_code == 200
        # Each scrape, on a connection of its own, lands on one worker or the other: every
        # one must count all 40.
        for _ in range(6):
            with httpx2.Client(base_url=server.url, timeout=60) as scraper:
                samples = _samples(scraper.get("/metrics").text)
            counted = _value(
                samples, "vault_http_requests_total", route="/healthz", method="GET", status="200"
            )
            assert counted >= 40


def test_the_queue_says_how_long_its_oldest_work_has_waited(
    client: TestClient, settings: Settings
) -> None:
    samples = _samples(client.get("/metrics").text)
    assert ("vault_notice_oldest_pending_seconds", frozenset()) in samples
    on_postgres = settings.resolved_database_url.startswith("postgresql")
    assert (("vault_jobs_oldest_waiting_seconds", frozenset()) in samples) == on_postgres
