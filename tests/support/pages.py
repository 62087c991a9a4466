"""Talking to the vault the way a citizen's browser does: through the login page, with cookies."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.support.api import PASSWORD, Account

CSRF_INPUT = re.compile(r'name="csrf" value="([^"]+)"')


def signed_in(app: FastAPI, account: Account) -> TestClient:
    browser = TestClient(app, follow_redirects=False)
    found = CSRF_INPUT.search(browser.get("/login").text)
    assert found
    form = {"national_id": account.national_id, "password": PASSWORD, "csrf": found.group(1)}
    answer = browser.post("/login", data=form)
    assert answer.status_code == 303, answer.text
    return browser
