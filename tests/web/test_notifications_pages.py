"""The notices as pages: the count on the home page, the inbox and marking read, and the
settings forms, each posted with its CSRF token as the citizen's browser does."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.api.test_notifications import announce, dossier_news, sent_code, wrong
from tests.support.api import Account, register
from tests.support.pages import CSRF_INPUT, signed_in
from vault.notices import contacts

pytestmark = pytest.mark.journey  # whole journeys: the full tier, not the edit loop

SETTINGS = "/notifications/settings"


@pytest.fixture
def citizen(client: TestClient) -> Account:
    return register(client)


@pytest.fixture
def pages(app: FastAPI, citizen: Account) -> TestClient:
    return signed_in(app, citizen)


def post(pages: TestClient, path: str, page: str = SETTINGS, **form: str) -> str:
    """Post a form of `page` as a browser does; the page it leads to, or the refusal."""
    found = CSRF_INPUT.search(pages.get(page).text)
    assert found, page
    answer = pages.post(path, data={"csrf": found.group(1), **form})
    if answer.status_code != 303:
        return answer.text
    return pages.get(answer.headers["location"]).text


def api_settings(client: TestClient, citizen: Account) -> Any:
    return client.get("/api/v1/citizens/me/notifications", headers=citizen.headers).json()


def test_the_home_page_counts_unread_notices(
    app: FastAPI, citizen: Account, pages: TestClient
) -> None:
    home = pages.get("/").text
    assert 'href="/notifications"' in home
    assert "Thông báo (" not in home

    announce(app, citizen, dossier_news())
    home = pages.get("/").text
    assert "Thông báo (1)" in home
    assert "Bạn có 1 thông báo chưa đọc" in home
    # Another page's menu names the inbox too.
    assert 'href="/notifications"' in pages.get("/profile").text


def test_the_inbox_lists_notices_and_marks_them_read(
    app: FastAPI, client: TestClient, citizen: Account, pages: TestClient
) -> None:
    assert "Chưa có thông báo nào." in pages.get("/notifications").text
    notice = dossier_news()
    first = announce(app, citizen, notice)
    second = announce(app, citizen, dossier_news("completed"))

    page = pages.get("/notifications")
    assert page.status_code == 200
    html = page.text
    assert "Hồ sơ cần bổ sung" in html and "Hồ sơ đã hoàn thành" in html
    assert notice.body in html
    assert f'href="{notice.link}"' in html and ">Xem<" in html
    assert html.count("Chưa đọc") == 2 and html.count("Đánh dấu đã đọc") == 2
    assert html.index("Hồ sơ đã hoàn thành") < html.index("Hồ sơ cần bổ sung")  # newest first
    assert "Đánh dấu tất cả đã đọc" in html

    # A forged form changes nothing.
    refused = pages.post(f"/notifications/{first}/read", data={"csrf": "forged"})
    assert refused.status_code == 403
    html = post(pages, f"/notifications/{first}/read", page="/notifications")
    assert html.count("Đánh dấu đã đọc") == 1
    assert "Thông báo (1)" in pages.get("/").text
    read = client.get("/api/v1/notifications?unread=1", headers=citizen.headers).json()
    assert [n["id"] for n in read] == [str(second)]

    html = post(pages, "/notifications/read-all", page="/notifications")
    assert "Đánh dấu đã đọc" not in html and "Đánh dấu tất cả đã đọc" not in html
    assert "Thông báo (" not in pages.get("/").text


def test_another_citizen_cannot_mark_a_notice(
    app: FastAPI, client: TestClient, citizen: Account
) -> None:
    notice_id = announce(app, citizen, dossier_news())
    stranger = signed_in(app, register(client, full_name="Trần Văn Bình"))
    assert "Hồ sơ cần bổ sung" not in stranger.get("/notifications").text
    found = CSRF_INPUT.search(stranger.get("/notifications").text)
    assert found
    for target in (notice_id, uuid.uuid4()):
        answer = stranger.post(f"/notifications/{target}/read", data={"csrf": found.group(1)})
        assert answer.status_code == 404
    [mine] = client.get("/api/v1/notifications", headers=citizen.headers).json()
    assert mine["read_at"] is None


def test_the_pages_need_a_login(app: FastAPI) -> None:
    anonymous = TestClient(app, follow_redirects=False)
    for page in ("/notifications", SETTINGS):
        answer = anonymous.get(page)
        assert answer.status_code == 303
        assert answer.headers["location"] == f"/login?next={page}"


def test_the_settings_page_shows_the_defaults(pages: TestClient) -> None:
    html = pages.get(SETTINGS).text
    assert "Cài đặt thông báo" in html
    assert "Bạn chưa đăng ký email nhận thông báo." in html
    assert re.search(r'name="email_on" value="1" checked', html)
    assert re.search(r'name="webhook_on" value="1">', html)
    assert "Tin nhắn/Zalo qua cổng của đơn vị vận hành" in html
    assert 'value="30, 7"' in html
    assert "Thêm người giúp" in html


def test_an_email_is_given_and_confirmed_on_the_page(
    app: FastAPI, client: TestClient, citizen: Account, pages: TestClient
) -> None:
    html = post(pages, f"{SETTINGS}/email", email="lan@example.com")
    assert "Đã gửi mã xác nhận tới email" in html
    assert "lan@example.com" in html and "chờ xác nhận" in html
    code = sent_code(app, citizen)

    refused = post(pages, f"{SETTINGS}/email/verify", code=wrong(code))
    assert "Mã xác nhận không đúng" in refused
    html = post(pages, f"{SETTINGS}/email/verify", code=code)
    assert "Đã xác nhận email." in html and "đã xác nhận" in html
    assert api_settings(client, citizen)["email_verified"] is True

    html = post(pages, f"{SETTINGS}/email", email="")
    assert "Đã xoá email." in html and "Bạn chưa đăng ký email" in html
    assert api_settings(client, citizen)["email"] is None
    assert "Địa chỉ email chưa đúng" in post(pages, f"{SETTINGS}/email", email="lan@")


def test_a_spent_code_says_how_to_get_a_new_one(
    app: FastAPI, citizen: Account, pages: TestClient
) -> None:
    post(pages, f"{SETTINGS}/email", email="lan@example.com")
    code = sent_code(app, citizen)
    for _ in range(contacts.CODE_ATTEMPTS):
        assert "Mã xác nhận không đúng" in post(pages, f"{SETTINGS}/email/verify", code="0")
    spent = post(pages, f"{SETTINGS}/email/verify", code=code)
    assert "Hãy lưu lại email để nhận mã mới" in spent

    post(pages, f"{SETTINGS}/email", email="lan@example.com")
    html = post(pages, f"{SETTINGS}/email/verify", code=sent_code(app, citizen))
    assert "Đã xác nhận email." in html


def test_channels_and_reminder_days_are_saved(
    client: TestClient, citizen: Account, pages: TestClient
) -> None:
    html = post(pages, SETTINGS, webhook_on="1", expiry_days_before="7, 60 1")
    assert "Đã lưu cài đặt thông báo." in html
    assert 'value="60, 7, 1"' in html
    saved = api_settings(client, citizen)
    assert saved["channels"] == {"email": False, "webhook": True}
    assert saved["expiry_days_before"] == [60, 7, 1]

    for days in ("0", "400", "1, 2, 3, 4, 5, 6", "ba mươi"):
        refused = post(pages, SETTINGS, email_on="1", expiry_days_before=days)
        assert "mỗi số từ 1 đến 365" in refused, days
    assert api_settings(client, citizen) == saved


def test_helpers_are_added_confirmed_and_removed_on_the_page(
    app: FastAPI, client: TestClient, citizen: Account, pages: TestClient
) -> None:
    html = post(pages, f"{SETTINGS}/helpers", address="0905 123 456", name="Con trai Minh")
    assert "Đã thêm người giúp" in html
    assert "Con trai Minh" in html and "0905123456" in html and "chờ xác nhận" in html
    [helper] = api_settings(client, citizen)["helpers"]
    assert helper["kind"] == "phone"
    verify = f"{SETTINGS}/helpers/{helper['id']}/verify"
    code = sent_code(app, citizen, helper["id"])

    assert "Mã xác nhận không đúng" in post(pages, verify, code=wrong(code))
    html = post(pages, verify, code=code)
    assert "Đã xác nhận người giúp." in html
    assert api_settings(client, citizen)["helpers"][0]["verified"] is True

    html = post(pages, f"{SETTINGS}/helpers", address="Hang.Xom@Example.vn")
    assert "hang.xom@example.vn" in html
    assert "Số điện thoại cần từ 8 đến 16 chữ số" in post(
        pages, f"{SETTINGS}/helpers", address="12"
    )
    html = post(pages, f"{SETTINGS}/helpers/{helper['id']}/remove")
    assert "Đã xoá người giúp." in html and "Con trai Minh" not in html
    helpers = api_settings(client, citizen)["helpers"]
    assert [h["kind"] for h in helpers] == ["email"]
