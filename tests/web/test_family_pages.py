"""Delegations and children's vaults as pages: each form posted with its CSRF token as the
citizen's browser does, in Vietnamese first and in English on the switch."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.api.test_dependents import (
    certificate,
    certified_certificate,
    child_number,
    years_ago,
)
from tests.support.api import Account, register
from tests.support.pages import CSRF_INPUT, signed_in
from vault.kit import days

pytestmark = pytest.mark.journey  # whole journeys: the full tier, not the edit loop


@pytest.fixture
def lan(client: TestClient) -> Account:
    return register(client, full_name="Nguyễn Thị Lan")


@pytest.fixture
def minh(client: TestClient) -> Account:
    return register(client, full_name="Trần Văn Minh")


def post(pages: TestClient, path: str, page: str, **form: object) -> tuple[int, str]:
    """Post a form of `page`; the page it leads to, or the refusal."""
    found = CSRF_INPUT.search(pages.get(page).text)
    assert found, page
    answer = pages.post(path, data={"csrf": found.group(1), **form})
    if answer.status_code != 303:
        return answer.status_code, answer.text
    return 200, pages.get(answer.headers["location"]).text


def test_the_menu_names_both_pages(app: FastAPI, lan: Account) -> None:
    pages = signed_in(app, lan)
    home = pages.get("/").text
    assert 'href="/delegations"' in home and "Uỷ quyền" in home
    assert 'href="/children"' in home and "Con của tôi" in home
    assert 'aria-current="page">Uỷ quyền' in pages.get("/delegations").text


def test_a_delegation_given_answered_and_revoked_on_the_pages(
    app: FastAPI, client: TestClient, lan: Account, minh: Account
) -> None:
    hers, his = signed_in(app, lan), signed_in(app, minh)
    last_day = str(days.today() + timedelta(days=30))
    code, page = post(
        hers,
        "/delegations",
        "/delegations",
        national_id=minh.national_id,
        scope=["documents:read", "grants:write"],
        expires_on=last_day,
    )
    assert code == 200, page
    # Until he accepts, she sees his name masked: a number typed tells no name.
    assert "Đã gửi uỷ quyền" in page and "Trần V** M**" in page and "Chờ nhận" in page
    assert "Trần Văn Minh" not in page and minh.national_id not in page

    received = his.get("/delegations").text
    assert "Nguyễn Thị Lan" in received and "Chia sẻ giấy tờ với cơ quan" in received
    delegation = client.get("/api/v1/delegations", headers=minh.headers).json()[0]["id"]
    code, page = post(his, f"/delegations/{delegation}/accept", "/delegations")
    assert code == 200 and "Bạn đã nhận uỷ quyền" in page and "Đang hiệu lực" in page
    assert "Trần Văn Minh" in hers.get("/delegations").text

    # He acts for her from the page, under the same banner as an officer at the counter.
    assert "Làm thay cho Nguyễn Thị Lan" in his.get("/delegations").text
    code, page = post(his, f"/delegations/{delegation}/act", "/delegations")
    assert code == 200 and "Bạn đang làm thay cho Nguyễn Thị Lan" in page
    assert his.get("/shares").status_code == 200
    assert his.get("/profile").status_code == 403
    code, page = post(hers, f"/delegations/{delegation}/end", "/delegations")
    assert code == 200 and "Đã kết thúc" in page
    # Revoked: his very next page is refused, and his browser forgets the token.
    ended = his.get("/shares")
    assert ended.headers["location"] == "/assist/ended"
    landed = his.get("/assist/ended")
    assert "Phiên làm thay đã kết thúc" in landed.text
    assert landed.headers["clear-site-data"] == '"storage"'  # her unfinished uploads
    assert "Uỷ quyền" in his.get("/delegations").text


def test_a_refused_form_says_why(app: FastAPI, lan: Account, minh: Account) -> None:
    pages = signed_in(app, lan)
    code, page = post(
        pages,
        "/delegations",
        "/delegations",
        national_id=minh.national_id,
        expires_on=str(days.today() + timedelta(days=400)),
        scope="documents:read",
    )
    assert code == 422 and "tối đa 1 năm" in page
    code, page = post(
        pages, "/delegations", "/delegations", national_id=minh.national_id, expires_on=""
    )
    assert code == 422
    # Without the page's CSRF token nothing happens.
    refused = pages.post(
        "/delegations",
        data={"national_id": minh.national_id, "scope": "documents:read", "expires_on": "x"},
    )
    assert refused.status_code == 403


def test_a_parent_adds_a_child_on_the_page(app: FastAPI, client: TestClient, lan: Account) -> None:
    pages = signed_in(app, lan)
    assert "đã được chứng thực tại bộ phận một cửa" in pages.get("/children").text
    born = years_ago(7)
    number = child_number(born.year)
    # A scan of her own is not offered: the page says to have it certified at the counter.
    scanned = certificate(client, lan, number=number)
    form = pages.get("/children").text
    assert f'value="{scanned}"' not in form and "mang bản chính đến bộ phận một cửa" in form
    paper = certified_certificate(client, lan, number)
    form = pages.get("/children").text
    assert f'value="{paper}"' in form and f'value="{scanned}"' not in form
    # Posted anyway, the scan is refused with the reason.
    code, page = post(
        pages,
        "/children",
        "/children",
        full_name="Trần Minh Khôi",
        national_id=number,
        date_of_birth=str(born),
        relationship="mother",
        birth_certificate_id=scanned,
    )
    assert code == 422 and "bản bạn tự chụp" in page
    code, page = post(
        pages,
        "/children",
        "/children",
        full_name="Trần Minh Khôi",
        national_id=number,
        date_of_birth=str(born),
        relationship="mother",
        birth_certificate_id=paper,
    )
    assert code == 200, page
    assert "Đã mở kho giấy tờ cho con" in page and "Trần Minh Khôi" in page and "Mẹ" in page
    # The parent's hold shows among the delegations received.
    assert "cha mẹ, người giám hộ" in pages.get("/delegations").text

    pages.get("/lang/en?next=/children")
    english = pages.get("/children").text
    assert "My children" in english and "Mother" in english


def test_refusals_of_the_family_pages_say_the_right_thing(
    app: FastAPI, client: TestClient, lan: Account
) -> None:
    """Each refusal its own text, not another's of the same field, in vi and en."""
    pages = signed_in(app, lan)
    last_day = str(days.today() + timedelta(days=30))
    adult = years_ago(18, extra_days=1)
    grown = child_number(adult.year)
    paper = certified_certificate(client, lan, grown)
    child_form = {
        "full_name": "Trần Minh Khôi",
        "national_id": grown,
        "date_of_birth": str(adult),
        "relationship": "mother",
        "birth_certificate_id": paper,
    }
    for lang, own, of_age in (
        ("vi", "không thể uỷ quyền cho chính mình", "đã đủ 18 tuổi"),
        ("en", "cannot delegate to yourself", "18 or older"),
    ):
        pages.get(f"/lang/{lang}?next=/delegations")
        code, page = post(
            pages,
            "/delegations",
            "/delegations",
            national_id=lan.national_id,
            scope="documents:read",
            expires_on=last_day,
        )
        assert code == 422 and own in page, page
        assert "đúng 12 chữ số" not in page and "exactly 12 digits" not in page
        code, page = post(pages, "/children", "/children", **child_form)
        assert code == 422 and of_age in page, page
        assert "năm sinh" not in page and "year in your identification" not in page
