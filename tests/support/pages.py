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


def counter_signed_in(app: FastAPI, username: str, password: str) -> TestClient:
    """An officer's browser at the counter, logged in through the counter's login page."""
    browser = TestClient(app, follow_redirects=False)
    found = CSRF_INPUT.search(browser.get("/agency/login").text)
    assert found
    form = {"username": username, "password": password, "csrf": found.group(1)}
    answer = browser.post("/agency/login", data=form)
    assert answer.status_code == 303, answer.text
    return browser


def post_form(browser: TestClient, page: str, path: str, **form: str) -> TestClient:
    """Post the form of `page` as a browser does, with the page's CSRF token; the answer."""
    found = CSRF_INPUT.search(browser.get(page).text)
    assert found, page
    return browser.post(path, data={"csrf": found.group(1), **form})  # type: ignore[return-value]
