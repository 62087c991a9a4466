"""The citizen's export: one streamed zip of every current paper and what the vault knows of them,
theirs alone, in bounded memory however large the papers."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.conftest import Stack
from tests.support import files
from tests.support.api import (
    PASSWORD,
    Account,
    new_national_id,
    register,
    register_agency,
    share,
    upload,
)
from tests.support.assist import acting_headers, register_officer
from tests.support.env import settings_env
from tests.support.pages import CSRF_INPUT
from tests.support.server import RunningServer, vault_server
from tests.support.transfer import MemoryWatch, multipart
from vault.cli import app as cli
from vault.settings import Settings

runner = CliRunner()
B = "/api/v1"
JSON_FILES = {"papers.json", "access-log.json", "grants.json", "dossiers.json", "audit.json"}


def _export(client: TestClient, account: Account) -> zipfile.ZipFile:
    answer = client.get(f"{B}/citizens/me/export", headers=account.headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/zip"
    assert "attachment" in answer.headers["content-disposition"]
    assert answer.headers["cache-control"] == "no-store"
    archive = zipfile.ZipFile(io.BytesIO(answer.content))
    assert archive.testzip() is None
    return archive


def _json(archive: zipfile.ZipFile, name: str) -> Any:
    return json.loads(archive.read(name).decode())


def test_the_export_holds_every_current_paper_and_what_the_vault_knows(
    client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    citizen = register(client)
    first = upload(client, citizen, ("giay-to.pdf", files.pdf())).json()
    second = upload(client, citizen, ("giay-to.pdf", files.pdf(pages=2)), doc_type="CCCD").json()
    third = upload(client, citizen, ("giay-to.pdf", files.pdf()), doc_type="CCCD").json()
    photo = upload(client, citizen, ("the.png", files.png()), doc_type="CCCD").json()
    # A newer version: the export has the current one.
    replaced = client.post(
        f"{B}/documents/{first['id']}/versions",
        headers=citizen.headers,
        files=[("file", ("giay-to-moi.pdf", files.pdf(pages=3), "application/octet-stream"))],
    )
    assert replaced.status_code == 201, replaced.text
    agency = register_agency(client, "UBND-HAICHAU")
    grant = share(client, citizen, agency.code, photo["id"]).json()
    client.get(
        f"{B}/shared/{grant['token']}/documents/{photo['id']}/content", headers=agency.headers
    )

    archive = _export(client, citizen)
    names = set(archive.namelist())
    assert names >= JSON_FILES
    papers = _json(archive, "papers.json")
    assert {paper["id"] for paper in papers} == {p["id"] for p in (first, second, third, photo)}
    # Each under its own file name; the current version's name; a second of a name gets (2).
    assert names == JSON_FILES | {"giay-to-moi.pdf", "giay-to.pdf", "giay-to (2).pdf", "the.png"}
    for paper in papers:
        stored = client.get(f"{B}/documents/{paper['id']}/content", headers=citizen.headers)
        assert archive.read(paper["file"]) == stored.content
        assert hashlib.sha256(stored.content).hexdigest() == paper["sha256"]
        assert paper["trust"] and "certification" in paper
    renewed = next(paper for paper in papers if paper["id"] == first["id"])
    assert renewed["version"] == 2 and [v["version"] for v in renewed["versions"]] == [2, 1]

    grants = _json(archive, "grants.json")
    assert [g["id"] for g in grants] == [grant["id"]] and grants[0]["token"] is None
    accesses = _json(archive, "access-log.json")
    assert [a["action"] for a in accesses] == ["share.download"]
    assert _json(archive, "dossiers.json") == []

    log = _json(archive, "audit.json")
    assert log["chain"] == citizen.id and log["proof"] is None and log["proof_missing"]
    assert [e["seq"] for e in log["events"]] == list(range(1, len(log["events"]) + 1))
    assert log["events"][-1]["action"] == "share.download"
    # The export itself is recorded, after what it exported.
    again = _json(_export(client, citizen), "audit.json")["events"]
    assert again[-1]["action"] == "account.export" and again[:-1] == log["events"]
    assert again[-1]["details"] == {"papers": 4}
    assert grant["token"] not in json.dumps([_json(archive, name) for name in JSON_FILES])


def test_the_exported_audit_log_carries_a_proof_that_verifies(
    client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    env = settings_env(settings)
    citizen = register(client)
    upload(client, citizen, ("giay-to.pdf", files.pdf()))
    made = runner.invoke(cli, ["keys", "init-signing"], env=env)
    key = made.output.strip().splitlines()[-1]
    assert runner.invoke(cli, ["audit", "checkpoint"], env=env).exit_code == 0
    upload(client, citizen, ("sau.pdf", files.pdf()))  # after the checkpoint: not yet covered

    archive = _export(client, citizen)
    log = _json(archive, "audit.json")
    assert log["proof"] is not None and log["proof_missing"] is None
    assert len(log["events"]) > len(log["proof"]["events"])
    path = tmp_path / "audit.json"
    path.write_bytes(archive.read("audit.json"))
    checked = runner.invoke(cli, ["audit", "verify-proof", str(path), "--public-key", key], env=env)
    assert checked.exit_code == 0, checked.output

    log["events"][-1]["details"] = {"forged": True}
    path.write_text(json.dumps(log), encoding="utf-8")
    forged = runner.invoke(cli, ["audit", "verify-proof", str(path), "--public-key", key], env=env)
    assert forged.exit_code == 1


def test_someone_acting_for_the_citizen_cannot_export(client: TestClient) -> None:
    citizen = register(client)
    upload(client, citizen, ("giay-to.pdf", files.pdf()))
    agency = register_agency(client, "UBND-HAICHAU")
    officer = register_officer(client, agency.code)
    headers = acting_headers(client, officer, citizen)
    answer = client.get(f"{B}/citizens/me/export", headers=headers)
    assert answer.status_code == 403
    assert answer.json()["type"] == "/problems/not-while-acting"
    assert client.get(f"{B}/citizens/me/export").status_code == 401


def test_the_profile_page_button_downloads_the_same_zip(client: TestClient) -> None:
    citizen = register(client)
    upload(client, citizen, ("giay-to.pdf", files.pdf()))
    client.get("/login")
    csrf = client.cookies["vault_csrf"]
    logged_in = client.post(
        "/login",
        data={"csrf": csrf, "national_id": citizen.national_id, "password": PASSWORD},
        follow_redirects=False,
    )
    assert logged_in.status_code in (302, 303), logged_in.text
    page = client.get("/profile")
    assert "Tải về toàn bộ giấy tờ của tôi" in page.text and 'action="/profile/export"' in page.text
    assert client.post("/profile/export", data={"csrf": csrf}).status_code == 403  # pre-login's
    csrf = CSRF_INPUT.search(page.text).group(1)  # type: ignore[union-attr]
    refused = client.post("/profile/export", data={"csrf": "not the token"})
    assert refused.status_code == 403
    answer = client.post("/profile/export", data={"csrf": csrf})
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(answer.content))
    assert set(archive.namelist()) >= JSON_FILES and len(_json(archive, "papers.json")) == 1


# Memory: a few large papers through a real server -------------------------------------------

PAPER = 48 << 20
BOUND = 40 << 20


@pytest.fixture
def server(settings: Settings, tmp_path: Path):
    with vault_server(settings_env(settings), tmp_path) as running:
        yield running


def _upload_big(client: httpx2.Client, headers: dict[str, str], size: int, name: str) -> str:
    length, pieces = files.big_pdf_stream(size)
    digest = hashlib.sha256()

    def hashed():
        for piece in pieces:  # type: ignore[attr-defined]
            digest.update(piece)
            yield piece

    form_headers, total, body = multipart({"doc_type": "GCNQSDD"}, name, length, hashed())
    response = client.post(
        f"{B}/documents",
        headers={**headers, **form_headers, "Content-Length": str(total)},
        content=body,
    )
    assert response.status_code == 201, response.text
    return digest.hexdigest()


@pytest.mark.slow
@pytest.mark.parametrize("stack", [Stack("sqlite", "file")], indirect=True, ids=str)
def test_the_export_streams_in_bounded_memory(server: RunningServer, tmp_path: Path) -> None:
    with httpx2.Client(base_url=server.url, timeout=300) as client:
        number = new_national_id()
        client.post(
            f"{B}/citizens",
            json={"national_id": number, "full_name": "Võ Văn Lớn", "password": PASSWORD},
        )
        token = client.post(
            f"{B}/auth/token", data={"username": number, "password": PASSWORD}
        ).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        digests = {_upload_big(client, headers, 1 << 20, "nho.pdf")}
        # Warm every code path of the export first, then watch it on three large papers.
        with client.stream("GET", f"{B}/citizens/me/export", headers=headers) as response:
            for _ in response.iter_bytes(1 << 20):
                pass
        digests |= {_upload_big(client, headers, PAPER, f"so-do-{i}.pdf") for i in range(3)}
        target = tmp_path / "export.zip"
        with (
            MemoryWatch(server.pid) as memory,
            client.stream("GET", f"{B}/citizens/me/export", headers=headers) as response,
            target.open("wb") as out,
        ):
            assert response.status_code == 200
            for piece in response.iter_bytes(1 << 20):
                out.write(piece)
    print(f"export of {target.stat().st_size >> 20} MiB: server +{memory.growth >> 20} MiB")
    assert target.stat().st_size > 3 * PAPER
    assert memory.growth < BOUND, f"the export grew the server by {memory.growth >> 20} MiB"
    with zipfile.ZipFile(target) as archive:
        papers = json.loads(archive.read("papers.json"))
        found = set()
        for paper in papers:
            digest = hashlib.sha256()
            with archive.open(paper["file"]) as entry:
                while block := entry.read(1 << 20):
                    digest.update(block)
            found.add(digest.hexdigest())
    assert found == digests
