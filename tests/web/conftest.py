"""A real `vault serve` and Debian's Chromium driven by Playwright (never `playwright install`)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.conftest import CI, Stack
from tests.support.env import settings_env
from tests.support.server import RunningServer, vault_server
from vault import agencies, db
from vault.accounts import officers
from vault.crypto import signatures
from vault.settings import Settings

CHROMIUM = os.environ.get("VAULT_TEST_CHROMIUM", "/usr/bin/chromium")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        message = (
            f"Chromium is not installed at {CHROMIUM} (scripts/test installs Debian's chromium)"
        )
        if CI:
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@dataclass(frozen=True)
class Counter:
    code: str
    name: str
    username: str
    password: str
    private_key: str


@pytest.fixture
def stack() -> Stack:
    return Stack("sqlite", "file")


@pytest.fixture
def served(settings: Settings, tmp_path: Path) -> Iterator[RunningServer]:
    with vault_server(settings_env(settings), tmp_path) as server:
        yield server


@pytest.fixture
def counter(served: RunningServer, settings: Settings) -> Counter:
    """The UBND's counter: the agency, its signing key and one officer, set up by the operator."""
    private, public = signatures.generate()
    engine = db.make_engine(settings.resolved_database_url)
    code = f"UBND-{secrets.token_hex(2).upper()}"
    with db.unit_of_work(engine) as session:
        agencies.create(session, code=code, name="UBND phường Hải Châu", public_key_pem=public)
        _, password = officers.create(
            session, agency_code=code, username="canbo.lan", full_name="Trần Thị Lan"
        )
    engine.dispose()
    return Counter(code, "UBND phường Hải Châu", "canbo.lan", password, private)
