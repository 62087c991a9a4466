"""Use counting under real concurrency, through a real server on PostgreSQL and S3."""

import hashlib
import json
import secrets
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select, text

from tests.conftest import Stack
from tests.support import api, files
from tests.support.api import PASSWORD, new_national_id
from tests.support.env import settings_env
from tests.support.server import vault_server
from vault import agencies, audit, db
from vault.agencies.models import Agency
from vault.audit.models import AuditEvent
from vault.kit.errors import Gone
from vault.settings import Settings
from vault.sharing import access, checked
from vault.sharing.models import Grant


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


def test_checked_downloads_and_other_appends_keep_the_chain_exact(
    app: FastAPI, client: TestClient
) -> None:
    """The one-round-trip download (vault.sharing.checked) against everything else that writes
    the citizen's chain at the same time: every use counted once, never past max_uses, every
    download audited, the chain gapless and every hash the verifier's."""
    owner = api.register(client)
    paper = api.upload(client, owner, ("a.pdf", files.pdf())).json()
    code = f"A-{secrets.token_hex(3)}"
    api.register_agency(client, code)
    grant = api.share(client, owner, code, paper["id"], max_uses=26).json()
    engine = app.state.engine
    with db.unit_of_work(engine, writes=False) as session:
        who = access.Accessor(session.exec(select(Agency).where(Agency.code == code)).one())
    subject = uuid.UUID(owner.id)
    asked = checked.Asked(grant["token"], who.agency.id, who.actor, uuid.UUID(paper["id"]))
    (counted,) = checked.count_downloads(engine, [asked])
    assert isinstance(counted, tuple) and counted[1].object_key  # the short way, not the long one

    def download(_: int) -> str:
        try:  # a refusal is audited once the request's unit of work has rolled back
            with db.unit_of_work(engine, writes=False) as session:
                delivery = access.fetch(
                    session,
                    app.state.backend,
                    who=who,
                    token=grant["token"],
                    document_id=uuid.UUID(paper["id"]),
                    end_read=session.commit,
                )
        except Gone as gone:
            return gone.reason or ""
        assert delivery.stream is not None
        assert len(b"".join(delivery.stream)) == paper["size"]
        return "ok"

    def other(i: int) -> str:
        with db.unit_of_work(engine) as session:
            audit.append(session, audit.Event("test.event", subject=subject, actor_type="system"))
        return "other"

    with ThreadPoolExecutor(max_workers=12) as pool:
        outcomes = list(pool.map(lambda i: (download if i % 4 else other)(i), range(40)))
    assert outcomes.count("ok") == 25
    assert outcomes.count("used_up") == 5 and outcomes.count("other") == 10
    with db.unit_of_work(engine, writes=False) as session:
        assert session.get(Grant, uuid.UUID(grant["id"])).uses == 26  # type: ignore[union-attr]
        events = session.exec(select(AuditEvent).where(AuditEvent.chain == str(subject))).all()
    assert sorted(e.seq for e in events) == list(range(1, len(events) + 1))
    downloads = [e for e in events if e.action == "share.download"]
    assert (
        sorted((e.outcome, e.reason) for e in downloads)
        == [("denied", "used_up")] * 5 + [("success", None)] * 26
    )
    assert {e.details for e in downloads if e.reason is None} == {
        json.dumps({"doc_type": "GKS", "stamped": False, "version": 1}, separators=(",", ":"))
    }
    assert audit.verify(engine).breaks == []


def test_downloads_asked_together_each_get_their_own_outcome(
    app: FastAPI, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Downloads checked and counted together (the lean layer's batch): one whose citizen key
    cannot be read (the database failing that statement, which aborts a PostgreSQL transaction)
    fails alone; the batch's session answers again for the next ones, whose papers are served
    (opened together on the S3 store)."""
    owner = api.register(client)
    paper = api.upload(client, owner, ("a.pdf", files.pdf())).json()
    code = f"A-{secrets.token_hex(3)}"
    api.register_agency(client, code)
    grants = [api.share(client, owner, code, paper["id"]).json() for _ in range(3)]
    engine = app.state.engine
    with db.unit_of_work(engine, writes=False) as session:
        who = access.Accessor(session.exec(select(Agency).where(Agency.code == code)).one())
    content_of = access.documents.content_of
    calls: list[uuid.UUID] = []

    def first_fails(session: Session, *args: Any) -> Any:
        calls.append(args[1].id)
        if len(calls) == 1:
            session.execute(text("SELECT * FROM no_such_table"))
        session.execute(text("SELECT 1"))
        return content_of(session, *args)

    monkeypatch.setattr(access.documents, "content_of", first_fails)
    document_id = uuid.UUID(paper["id"])
    asked = [checked.Asked(g["token"], who.agency.id, who.actor, document_id) for g in grants]
    with Session(engine) as session:
        outcomes = access.fetch_checked_all(session, app.state.backend, asked)
        served = [
            b"".join(outcome.stream)
            for outcome in outcomes
            if isinstance(outcome, access.Delivery) and outcome.stream is not None
        ]

    assert len(calls) == 3 and isinstance(outcomes[0], DBAPIError)
    assert [hashlib.sha256(body).hexdigest() for body in served] == [paper["sha256"]] * 2
    for grant in grants:  # counted before the paper was opened, as an abandoned download is
        state = client.get(f"/api/v1/grants/{grant['id']}", headers=owner.headers).json()
        assert state["uses"] == 1
    assert audit.verify(engine).breaks == []
