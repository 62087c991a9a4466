"""Migrations keep what the database holds, both ways, on both databases."""

import pytest
from alembic import command
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

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
