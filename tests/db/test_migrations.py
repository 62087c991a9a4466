"""Migrations keep what the database holds, both ways, on both databases."""

import pytest
from alembic import command
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text

from tests.support import files
from tests.support.api import register, register_agency, share, upload
from vault import db
from vault.settings import Settings


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
    config = db.alembic_config(settings.resolved_database_url)
    command.downgrade(config, target)
    assert _counts(app) == before
    command.upgrade(config, "head")
    assert _counts(app) == before


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
    command.downgrade(config, "0004")
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
