"""A forgotten password on the pages: the reset form linked from the login page, and the
recovery codes a signed-in citizen makes and prints."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.api.test_recovery import NEW_PASSWORD, give_code, log_in, reset
from tests.support.api import register, register_agency
from tests.support.assist import register_officer
from tests.support.pages import CSRF_INPUT, signed_in

pytestmark = pytest.mark.journey  # whole journeys: the full tier, not the edit loop

CODE = re.compile(r"<code>([A-Z0-9]{4} [A-Z0-9]{4})</code>")


def _post(browser: TestClient, page: str, path: str, **form: str) -> tuple[int, str]:
    found = CSRF_INPUT.search(browser.get(page).text)
    assert found, page
    answer = browser.post(path, data={"csrf": found.group(1), **form})
    return answer.status_code, answer.text


def test_the_login_page_leads_to_a_reset_with_the_counter_code(
    app: FastAPI, client: TestClient
) -> None:
    citizen = register(client)
    register_agency(client, "UBND-A")
    officer = register_officer(client, "UBND-A")
    old_session = signed_in(app, citizen)
    browser = TestClient(app, follow_redirects=False)
    assert 'href="/reset"' in browser.get("/login").text
    page = browser.get("/reset").text
    assert "Quên mật khẩu / Đặt lại mật khẩu" in page
    for field in ("national_id", "reset_code", "password", "password_again"):
        assert f'name="{field}"' in page

    code = give_code(client, officer, citizen)
    form = {"national_id": citizen.national_id, "reset_code": code.lower()}
    status, text = _post(
        browser, "/reset", "/reset", **form, password=NEW_PASSWORD, password_again="other one!"
    )
    assert status == 422 and "Hai mật khẩu mới chưa giống nhau" in text
    status, text = _post(
        browser,
        "/reset",
        "/reset",
        **form | {"reset_code": "ABCDEFGH"},
        password=NEW_PASSWORD,
        password_again=NEW_PASSWORD,
    )
    assert status == 401 and "Sai số định danh hoặc mã đặt lại" in text
    status, text = _post(
        browser, "/reset", "/reset", **form, password=NEW_PASSWORD, password_again=NEW_PASSWORD
    )
    assert status == 200 and "Mật khẩu đã được đặt lại" in text
    assert log_in(client, citizen, NEW_PASSWORD).status_code == 200
    assert old_session.get("/profile").status_code == 303  # the old page session is over


def test_the_reset_form_needs_its_csrf_token(app: FastAPI, client: TestClient) -> None:
    citizen = register(client)
    browser = TestClient(app, follow_redirects=False)
    browser.get("/reset")
    form = {"national_id": citizen.national_id, "reset_code": "ABCDEFGH"}
    answer = browser.post("/reset", data=form | {"password": "x" * 10, "password_again": "x" * 10})
    assert answer.status_code == 403


def test_recovery_codes_are_made_shown_once_and_work(app: FastAPI, client: TestClient) -> None:
    citizen = register(client)
    assert TestClient(app, follow_redirects=False).get("/recovery-codes").status_code == 303
    browser = signed_in(app, citizen)
    assert 'href="/recovery-codes"' in browser.get("/profile").text
    page = browser.get("/recovery-codes").text
    assert "Mã khôi phục" in page and "Bạn còn 0 mã chưa dùng." in page and not CODE.search(page)

    status, text = _post(browser, "/recovery-codes", "/recovery-codes")
    assert status == 200
    codes = CODE.findall(text)
    assert len(codes) == len(set(codes)) == 10
    assert not CODE.search(browser.get("/recovery-codes").text)  # shown once
    assert "Bạn còn 10 mã chưa dùng." in browser.get("/recovery-codes").text

    assert reset(client, citizen, codes[0]).status_code == 204
    fresh = signed_in_with(app, citizen.national_id, NEW_PASSWORD)
    assert "Bạn còn 9 mã chưa dùng." in fresh.get("/recovery-codes").text


def signed_in_with(app: FastAPI, national_id: str, password: str) -> TestClient:
    browser = TestClient(app, follow_redirects=False)
    found = CSRF_INPUT.search(browser.get("/login").text)
    assert found
    form = {"national_id": national_id, "password": password, "csrf": found.group(1)}
    assert browser.post("/login", data=form).status_code == 303
    return browser
