"""Che thông tin in a real browser: a citizen shares a căn cước photo with its usual fields
masked (pre-marked, one changed by hand), and the counter receives it with those pixels flat."""

from __future__ import annotations

import json

from playwright.sync_api import Browser, expect

from tests.support.api import new_national_id
from tests.support.masks import assert_flat_inside, card, decoded
from tests.support.server import RunningServer
from tests.web.conftest import DESKTOP, Counter
from tests.web.test_pages import _officer_logs_in, _sign_up


def test_a_card_shared_with_its_usual_fields_masked(
    browser: Browser, served: RunningServer, counter: Counter
) -> None:
    base = served.url
    home = browser.new_context(viewport=DESKTOP, locale="vi-VN")
    citizen = home.new_page()
    _sign_up(citizen, base, new_national_id(), "Nguyễn Thị Hoa")
    citizen.goto(f"{base}/papers/new")
    citizen.locator("label.choice:has-text('Thẻ căn cước')").click()
    photo = {"name": "mat-truoc.jpg", "mimeType": "image/jpeg", "buffer": card()}
    citizen.locator("input#file").set_input_files([photo])  # type: ignore[list-item]
    citizen.locator("button:has-text('Lưu giấy tờ')").click()
    expect(citizen.get_by_role("status")).to_contain_text("Đã lưu giấy tờ")
    paper_id = citizen.url.split("/papers/")[1].split("?")[0]

    citizen.get_by_role("link", name="Chia sẻ giấy tờ này").click()
    citizen.get_by_role("button", name="Che thông tin").click()
    boxes = citizen.locator(".mask-box")
    expect(boxes).to_have_count(3)  # portrait, QR code, address: pre-marked
    picture = citizen.locator(".mask-page img")
    citizen.wait_for_function(
        "image => image.complete && image.naturalWidth > 0", arg=picture.element_handle()
    )
    # The citizen takes one pre-marked box away and draws another over the name line.
    citizen.get_by_role("button", name="Bỏ vùng che này").last.click()
    expect(boxes).to_have_count(2)
    area = picture.bounding_box()
    assert area is not None
    citizen.mouse.move(area["x"] + area["width"] * 0.35, area["y"] + area["height"] * 0.40)
    citizen.mouse.down()
    citizen.mouse.move(area["x"] + area["width"] * 0.60, area["y"] + area["height"] * 0.50, steps=5)
    citizen.mouse.up()
    expect(boxes).to_have_count(3)
    expect(citizen.locator("[data-masks-count]")).to_contain_text("3")
    sent = json.loads(citizen.locator("input[name=masks]").input_value())
    assert list(sent) == [paper_id] and len(sent[paper_id]) == 3
    drawn = sent[paper_id][-1]
    assert abs(drawn["x"] - 0.35) < 0.02 and abs(drawn["w"] - 0.25) < 0.02

    citizen.locator("#agency").select_option(label=counter.name)
    citizen.get_by_role("button", name="Chia sẻ", exact=True).click()
    expect(citizen.get_by_role("status")).to_contain_text("Đã chia sẻ")
    expect(citizen.get_by_text("đã che thông tin")).to_be_visible()
    link = citizen.locator(".link-text").inner_text().strip()

    desk = browser.new_context(viewport=DESKTOP, locale="vi-VN")
    officer = desk.new_page()
    _officer_logs_in(officer, base, counter)
    officer.goto(link)
    expect(officer.get_by_text("Công dân đã che một số thông tin")).to_be_visible()
    shown = officer.locator("img.paper")
    officer.wait_for_function(
        "image => image.complete && image.naturalWidth > 0", arg=shown.element_handle()
    )
    token = link.rsplit("/", 1)[1]
    for query in ("", "?stamped=1", "?page=1"):
        answer = officer.request.get(f"{base}/agency/share/{token}/papers/{paper_id}{query}")
        assert answer.ok, (query, answer.status)
        assert_flat_inside(decoded(answer.body()), sent[paper_id])

    citizen.goto(f"{base}/access-log")
    expect(citizen.locator(".rows")).to_contain_text("Cơ quan nhận bản đã che thông tin")
    home.close()
    desk.close()
