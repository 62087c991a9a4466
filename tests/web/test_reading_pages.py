"""The reading on the pages: a paper added as "let the vault read it" shows the suggestion,
confirmed with one tap."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.support import cards
from tests.support.api import register
from tests.support.pages import CSRF_INPUT, post_form, signed_in

pytestmark = pytest.mark.journey  # whole journeys: the full tier, not the edit loop


def test_a_card_added_unread_is_suggested_and_confirmed_with_one_tap(
    app: FastAPI, client: TestClient
) -> None:
    account = register(client)
    browser = signed_in(app, account)
    page = browser.get("/papers/new").text
    assert "Để vault đọc" in page
    csrf = CSRF_INPUT.search(page)
    assert csrf
    photo = cards.card_photo(cards.qr_payload(account.national_id))
    added = browser.post(
        "/papers",
        data={"csrf": csrf.group(1), "doc_type": ""},
        files=[("file", ("the.jpg", photo, "image/jpeg"))],
    )
    assert added.status_code == 303, added.text
    paper = added.headers["location"].split("?")[0]
    shown = browser.get(paper).text
    assert "Kho đã đọc giấy tờ này" in shown
    assert account.national_id in shown and "Xác nhận" in shown

    confirmed = post_form(browser, paper, f"{paper}/reading/accept")
    assert confirmed.status_code == 303, confirmed.text
    after = browser.get(confirmed.headers["location"]).text
    assert "Đã lưu thông tin kho đọc được vào giấy tờ." in after
    assert "Kho đã đọc giấy tờ này" not in after
    assert "Thẻ căn cước" in after
