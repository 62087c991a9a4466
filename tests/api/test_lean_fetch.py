"""The agency's plain download answered by the lean layer (vault.api.lean_fetch): the same
paper, count, audit, metrics and refusals as the route it stands in front of."""

from __future__ import annotations

import hashlib
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import anyio
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update
from sqlmodel import col, select

from tests.support import api, files
from vault import agencies, audit, db
from vault.agencies.models import Agency, AgencyToken
from vault.api import agency as agency_routes
from vault.api import lean_fetch
from vault.api.lean_fetch import ROUTE
from vault.audit.models import AuditEvent
from vault.documents.models import DocumentVersion
from vault.sharing.models import Grant


@pytest.fixture
def citizen(client: TestClient) -> api.Account:
    return api.register(client, full_name="Lê Thị Hoa")


@pytest.fixture
def agency(client: TestClient) -> api.AgencyAccount:
    return api.register_agency(client, "UBND-SONTRA", "UBND phường Sơn Trà")


@pytest.fixture
def paper(client: TestClient, citizen: api.Account) -> dict[str, Any]:
    found: dict[str, Any] = api.upload(
        client, citizen, ("ho-khau.pdf", files.pdf()), doc_type="GKS"
    ).json()
    return found


@pytest.fixture
def only_lean(monkeypatch: pytest.MonkeyPatch) -> None:
    """The route's own way fails: what succeeds was answered by the lean layer."""

    def refused(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the route served a download the lean layer should have")

    monkeypatch.setattr(agency_routes.access, "fetch", refused)


def _content(token: str, document_id: str) -> str:
    return f"/api/v1/shared/{token}/documents/{document_id}/content"


def _metrics(client: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(client.get("/metrics").text)
        for sample in family.samples
    }


def _labels(**labels: str) -> frozenset[tuple[str, str]]:
    return frozenset(labels.items())


def _log(client: TestClient, citizen: api.Account, grant_id: str) -> list[tuple[str, str]]:
    events = client.get("/api/v1/access-log", headers=citizen.headers).json()
    return [(e["outcome"], e["reason"] or "") for e in events if e["grant_id"] == grant_id]


@pytest.mark.usefixtures("only_lean")
def test_every_download_is_served_counted_audited_and_measured(
    app: FastAPI,
    client: TestClient,
    citizen: api.Account,
    agency: api.AgencyAccount,
    paper: dict[str, Any],
) -> None:
    own = client.get(f"/api/v1/documents/{paper['id']}/content", headers=citizen.headers)
    grant = api.share(client, citizen, agency.code, paper["id"], max_uses=5).json()
    before = _metrics(client)
    for _ in range(3):
        fetched = client.get(_content(grant["token"], paper["id"]), headers=agency.headers)
        assert fetched.status_code == 200
        assert fetched.content == own.content
        for header in ("etag", "content-disposition", "content-type", "content-length"):
            assert fetched.headers[header] == own.headers[header]
        assert fetched.headers["accept-ranges"] == "none"
        assert fetched.headers["cache-control"] == "no-store"
        assert fetched.headers["x-content-type-options"] == "nosniff"
        assert fetched.headers["content-security-policy"] == "sandbox; default-src 'none'"
    after = _metrics(client)

    def grew(name: str, **labels: str) -> float:
        key = (name, _labels(**labels))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert grew("vault_http_requests_total", route=ROUTE, method="GET", status="200") == 3
    assert grew("vault_http_request_duration_seconds_count", route=ROUTE, method="GET") == 3
    assert grew("vault_http_body_bytes_total", direction="out") >= 3 * len(own.content)
    assert grew("vault_audit_events_total", action="share.download", outcome="success", reason="")
    state = client.get(f"/api/v1/grants/{grant['id']}", headers=citizen.headers).json()
    assert state["uses"] == 3
    assert _log(client, citizen, grant["id"]) == [("success", "")] * 3
    assert audit.verify(app.state.engine).breaks == []


def _expire(app: FastAPI, grant_id: str) -> None:
    with db.unit_of_work(app.state.engine) as session:
        session.execute(
            update(Grant)
            .where(col(Grant.id) == uuid.UUID(grant_id))
            .values(expires_at=db.utc_now() - timedelta(seconds=1))
        )


def test_refusals_are_the_routes_own_answered_and_audited(
    app: FastAPI,
    client: TestClient,
    citizen: api.Account,
    agency: api.AgencyAccount,
    paper: dict[str, Any],
) -> None:
    other = api.register_agency(client, "UBND-NGUHANHSON")
    another_paper = api.upload(client, citizen, ("cccd.pdf", files.pdf())).json()
    revoked = api.share(client, citizen, agency.code, paper["id"]).json()
    client.delete(f"/api/v1/grants/{revoked['id']}", headers=citizen.headers)
    expired = api.share(client, citizen, agency.code, paper["id"]).json()
    _expire(app, expired["id"])
    live = api.share(client, citizen, agency.code, paper["id"]).json()
    before = _metrics(client)
    cases = [
        (_content(revoked["token"], paper["id"]), agency.headers, 410, "revoked"),
        (_content(expired["token"], paper["id"]), agency.headers, 410, "expired"),
        (_content(live["token"], another_paper["id"]), agency.headers, 404, None),
        (_content("x" * 43, paper["id"]), agency.headers, 404, None),
        (_content(live["token"], paper["id"]), other.headers, 403, None),
        (_content(live["token"], paper["id"]), {"Authorization": "Bearer forged"}, 401, None),
        (_content(live["token"], paper["id"]), citizen.headers, 401, None),
        (_content(live["token"], paper["id"]), {}, 401, None),
        (_content(live["token"], "not-a-paper"), agency.headers, 422, None),
    ]
    for path, headers, status, reason in cases:
        refused = client.get(path, headers=headers)
        assert refused.status_code == status, (path, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["status"] == status
        if reason is not None:
            assert refused.json()["reason"] == reason
        if status == 401:
            assert refused.headers["www-authenticate"] == "Bearer"
    after = _metrics(client)
    counted = {
        status: after.get(key, 0.0) - before.get(key, 0.0)
        for status in ("401", "403", "404", "410", "422")
        for key in [
            ("vault_http_requests_total", _labels(route=ROUTE, method="GET", status=status))
        ]
    }
    assert counted == {"401": 3, "403": 1, "404": 2, "410": 2, "422": 1}
    assert _log(client, citizen, revoked["id"]) == [("denied", "revoked")]
    assert _log(client, citizen, expired["id"]) == [("denied", "expired")]
    assert sorted(_log(client, citizen, live["id"])) == [
        ("denied", "not_in_grant"),
        ("denied", "wrong_agency"),
    ]
    assert client.get(f"/api/v1/grants/{live['id']}", headers=citizen.headers).json()["uses"] == 0
    assert audit.verify(app.state.engine).breaks == []


def test_a_grant_of_n_uses_serves_exactly_n_of_many_concurrent_downloads(
    app: FastAPI,
    client: TestClient,
    citizen: api.Account,
    agency: api.AgencyAccount,
    paper: dict[str, Any],
) -> None:
    grant = api.share(client, citizen, agency.code, paper["id"], max_uses=5).json()
    path = _content(grant["token"], paper["id"])
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: client.get(path, headers=agency.headers), range(12)))
    codes = sorted(response.status_code for response in statuses)
    assert codes == [200] * 5 + [410] * 7
    assert all(r.json()["reason"] == "used_up" for r in statuses if r.status_code == 410)
    assert client.get(f"/api/v1/grants/{grant['id']}", headers=citizen.headers).json()["uses"] == 5
    log = _log(client, citizen, grant["id"])
    assert sorted(log) == [("denied", "used_up")] * 7 + [("success", "")] * 5
    assert audit.verify(app.state.engine).breaks == []


def test_a_download_with_a_query_string_goes_the_routes_way(
    client: TestClient, citizen: api.Account, agency: api.AgencyAccount, paper: dict[str, Any]
) -> None:
    grant = api.share(client, citizen, agency.code, paper["id"]).json()
    stamped = client.get(
        _content(grant["token"], paper["id"]) + "?watermark=1", headers=agency.headers
    )
    assert stamped.status_code == 200, stamped.text
    assert "-UBND-SONTRA" in stamped.headers["content-disposition"]


@pytest.mark.usefixtures("only_lean")
def test_a_paper_the_store_lost_is_answered_by_the_apps_own_handler(
    app: FastAPI,
    client: TestClient,
    citizen: api.Account,
    agency: api.AgencyAccount,
    paper: dict[str, Any],
) -> None:
    grant = api.share(client, citizen, agency.code, paper["id"]).json()
    with db.unit_of_work(app.state.engine, writes=False) as session:
        key = session.exec(
            select(DocumentVersion.object_key).where(
                DocumentVersion.document_id == uuid.UUID(paper["id"])
            )
        ).one()
    app.state.backend.store.delete(key)
    own = client.get(f"/api/v1/documents/{paper['id']}/content", headers=citizen.headers)
    before = _metrics(client)
    lost = client.get(_content(grant["token"], paper["id"]), headers=agency.headers)
    assert lost.status_code == own.status_code >= 500
    assert lost.headers["content-type"] == "application/problem+json"
    assert lost.json() == own.json()
    key_200 = ("vault_http_requests_total", _labels(route=ROUTE, method="GET", status="200"))
    key_lost = (
        "vault_http_requests_total",
        _labels(route=ROUTE, method="GET", status=str(lost.status_code)),
    )
    after = _metrics(client)
    assert after.get(key_lost, 0.0) - before.get(key_lost, 0.0) == 1
    assert after.get(key_200, 0.0) == before.get(key_200, 0.0)


def _revoke(app: FastAPI, code: str, how: str) -> None:
    """The agency's bearer token stops holding: its secret rotated (the token deleted), the
    agency disabled (only the flag set here, so that the flag alone is what refuses), or the
    token expired."""
    with db.unit_of_work(app.state.engine) as session:
        if how == "rotated":
            agencies.rotate_secret(session, code)
        elif how == "disabled":
            session.execute(
                update(Agency).where(col(Agency.code) == code).values(disabled_at=db.utc_now())
            )
        else:
            agency_id = agencies.by_code(session, code).id
            session.execute(
                update(AgencyToken)
                .where(col(AgencyToken.agency_id) == agency_id)
                .values(expires_at=db.utc_now() - timedelta(seconds=1))
            )


@pytest.mark.parametrize("how", ["rotated", "disabled", "expired"])
def test_a_bearer_token_that_stops_holding_is_refused_from_the_next_download(
    app: FastAPI,
    client: TestClient,
    citizen: api.Account,
    agency: api.AgencyAccount,
    paper: dict[str, Any],
    how: str,
) -> None:
    """The lean layer remembers whose token it is, never that it holds."""
    grant = api.share(client, citizen, agency.code, paper["id"], max_uses=5).json()
    path = _content(grant["token"], paper["id"])
    assert client.get(path, headers=agency.headers).status_code == 200
    assert client.get(path, headers=agency.headers).status_code == 200
    _revoke(app, agency.code, how)
    refused = client.get(path, headers=agency.headers)
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["www-authenticate"] == "Bearer"
    state = client.get(f"/api/v1/grants/{grant['id']}", headers=citizen.headers).json()
    assert state["uses"] == 2
    assert _log(client, citizen, grant["id"]) == [("success", "")] * 2
    with db.unit_of_work(app.state.engine, writes=False) as session:
        unauthenticated = session.exec(
            select(AuditEvent).where(AuditEvent.action == "agency.unauthenticated")
        ).all()
    assert [event.reason for event in unauthenticated] == ["no_credentials"]
    assert audit.verify(app.state.engine).breaks == []


@pytest.mark.usefixtures("only_lean")
def test_concurrent_downloads_of_two_grants_and_other_appends_keep_counts_and_chain_exact(
    app: FastAPI,
    client: TestClient,
    citizen: api.Account,
    agency: api.AgencyAccount,
    paper: dict[str, Any],
) -> None:
    """Lean downloads of two grants of one citizen, batched together, against other events
    joining the same chain at the same time: every use counted once, every download audited,
    the chain gapless, every hash the verifier's."""
    grants = [
        api.share(client, citizen, agency.code, paper["id"], max_uses=20).json() for _ in range(2)
    ]
    subject = uuid.UUID(citizen.id)

    def work(i: int) -> int:
        if i % 5 == 0:
            with db.unit_of_work(app.state.engine) as session:
                audit.append(
                    session, audit.Event("test.event", subject=subject, actor_type="system")
                )
            return 0
        grant = grants[i % 2]
        return client.get(_content(grant["token"], paper["id"]), headers=agency.headers).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(work, range(40)))
    assert statuses.count(200) == 32
    for grant in grants:
        state = client.get(f"/api/v1/grants/{grant['id']}", headers=citizen.headers).json()
        assert state["uses"] == 16
        assert _log(client, citizen, grant["id"]) == [("success", "")] * 16
    assert audit.verify(app.state.engine).breaks == []


@pytest.mark.usefixtures("only_lean")
def test_downloads_arriving_together_are_answered_together(
    app: FastAPI,
    client: TestClient,
    citizen: api.Account,
    agency: api.AgencyAccount,
    paper: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """While one worker thread answers a batch, the downloads arriving meanwhile wait on the
    event loop and are answered by the next, each with its own paper, use and event."""
    batches: list[int] = []
    gathered = threading.Event()
    threading.Timer(0.5, gathered.set).start()
    answer = lean_fetch._checked_all

    def held(state: Any, bearers: Any, wanted: Any) -> Any:
        batches.append(len(wanted))
        gathered.wait(5)  # the first batch holds on while the others arrive
        return answer(state, bearers, wanted)

    monkeypatch.setattr(lean_fetch, "_checked_all", held)
    grant = api.share(client, citizen, agency.code, paper["id"], max_uses=20).json()
    path = _content(grant["token"], paper["id"])
    with ThreadPoolExecutor(12) as pool:
        responses = list(pool.map(lambda _: client.get(path, headers=agency.headers), range(12)))

    assert [r.status_code for r in responses] == [200] * 12
    assert {hashlib.sha256(r.content).hexdigest() for r in responses} == {paper["sha256"]}
    assert sum(batches) == 12 and len(batches) <= 3, batches
    assert client.get(f"/api/v1/grants/{grant['id']}", headers=citizen.headers).json()["uses"] == 12
    assert _log(client, citizen, grant["id"]) == [("success", "")] * 12
    assert audit.verify(app.state.engine).breaks == []


def test_a_download_given_up_while_it_waits_holds_up_no_other(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A request cancelled in the queue (its client gone, the server stopping) leaves it, and
    the lead still passes: every other download gets its own outcome, and the next ones too."""
    release = threading.Event()
    asked: list[list[str]] = []

    def answered(_state: Any, _bearers: Any, wanted: Any) -> list[Any]:
        asked.append([one.token for one in wanted])
        if len(asked) == 1:
            release.wait(5)
        return [ValueError(one.token) if one.token == "bad" else one.token for one in wanted]

    monkeypatch.setattr(lean_fetch, "_checked_all", answered)
    batches = lean_fetch._Batches()
    outcomes: dict[str, object] = {}

    async def download(token: str, scope: anyio.CancelScope | None = None) -> None:
        wanted = lean_fetch._Wanted(None, "bearer", token, uuid.uuid4())  # type: ignore[arg-type]
        with scope or anyio.CancelScope():
            try:
                outcomes[token] = await batches.answer(None, wanted)  # type: ignore[arg-type]
            except ValueError as error:
                outcomes[token] = error

    async def main() -> None:
        given_up = anyio.CancelScope()
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(download, "first")
            await anyio.sleep(0.1)  # the first leads, its batch held in its thread
            for token in ("second", "bad"):
                tasks.start_soon(download, token)
            tasks.start_soon(download, "gone", given_up)
            tasks.start_soon(download, "last")
            await anyio.sleep(0.1)
            given_up.cancel()
            await anyio.sleep(0.1)
            release.set()
        await download("after")

    anyio.run(main)

    assert asked == [["first"], ["second", "bad", "last"], ["after"]]
    assert {token: str(outcome) for token, outcome in outcomes.items()} == {
        "first": "first",
        "second": "second",
        "bad": "bad",
        "last": "last",
        "after": "after",
    }
    assert isinstance(outcomes["bad"], ValueError)


def test_downloads_waiting_on_two_event_loops_at_once_are_each_answered_on_their_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One application served by two loops at the same time (test clients in two threads):
    each loop's downloads wait and are answered on that loop, whichever loop asks meanwhile."""
    a_queued, b_asked = threading.Event(), threading.Event()
    batches: list[list[str]] = []

    def answered(_state: Any, _bearers: Any, wanted: Any) -> list[Any]:
        tokens = [one.token for one in wanted]
        batches.append(tokens)
        if tokens == ["a-0"]:
            b_asked.wait(5)  # loop a's first batch runs while b asks and a's next ones wait
        return [f"{token} answered" for token in tokens]

    monkeypatch.setattr(lean_fetch, "_checked_all", answered)
    shared = lean_fetch._Batches()
    outcomes: dict[str, object] = {}

    async def download(token: str) -> None:
        wanted = lean_fetch._Wanted(None, "bearer", token, uuid.uuid4())  # type: ignore[arg-type]
        outcomes[token] = await shared.answer(None, wanted)  # type: ignore[arg-type]

    async def loop_a() -> None:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(download, "a-0")
            await anyio.sleep(0.05)
            tasks.start_soon(download, "a-1")
            tasks.start_soon(download, "a-2")
            await anyio.sleep(0.05)
            a_queued.set()

    async def loop_b() -> None:
        a_queued.wait(5)
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(download, "b-0")
            await anyio.sleep(0.05)
            b_asked.set()

    threads = [threading.Thread(target=anyio.run, args=(main,)) for main in (loop_a, loop_b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert outcomes == {t: f"{t} answered" for t in ("a-0", "a-1", "a-2", "b-0")}
    assert sorted(batches) == [["a-0"], ["a-1", "a-2"], ["b-0"]]
