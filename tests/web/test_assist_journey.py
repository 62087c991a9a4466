"""The elderly citizen at the one-stop counter, in a real browser at 390 px: the officer asks to
act for her, she types her own password on the counter's consent screen, the officer uploads
her birth certificate and shares it for a marriage registration under the banner, ends the
session, and she finds all of it in her history on her own phone. Each step is photographed
into the tests' artifacts (VAULT_TEST_ARTIFACTS, default test-artifacts/)."""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from tests.support import files
from tests.support.api import PASSWORD, new_national_id
from tests.support.server import RunningServer
from tests.web.conftest import PHONE, Counter
from tests.web.test_pages import _sign_up

ARTIFACTS = Path(
    os.environ.get("VAULT_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts")
)


class Steps:
    """Screenshots of a journey, numbered in order, one folder per journey."""

    def __init__(self, name: str) -> None:
        self.folder = ARTIFACTS / name
        self.folder.mkdir(parents=True, exist_ok=True)
        self.count = 0

    def shoot(self, page: Page, label: str, *, whole: bool = True) -> None:
        """`whole`: the full page; otherwise the screen as seen (a sticky banner stays on top
        of the screen, not of a full-page capture)."""
        self.count += 1
        path = str(self.folder / f"{self.count:02d}-{label}.png")
        page.screenshot(path=path, full_page=whole)


def test_an_officer_acts_for_a_citizen_with_her_consent(
    browser: Browser, served: RunningServer, counter: Counter
) -> None:
    base = served.url
    steps = Steps("assisted-service-390px")
    number = new_national_id()
    home = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="vi-VN")
    citizen = home.new_page()
    _sign_up(citizen, base, number, "Nguyễn Thị Lan")

    desk = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="vi-VN")
    officer = desk.new_page()
    officer.goto(f"{base}/agency/login")
    officer.get_by_label("Tên đăng nhập").fill(counter.username)
    officer.get_by_label("Mật khẩu").fill(counter.password)
    officer.get_by_role("button", name="Đăng nhập").click()
    officer.get_by_role("link", name="Hỗ trợ công dân").click()
    expect(officer.get_by_role("heading", name="Hỗ trợ công dân")).to_be_visible()
    officer.get_by_label("Số định danh cá nhân").fill(number)
    officer.get_by_label("Đối chiếu ảnh trên thẻ với khuôn mặt").check()
    officer.get_by_label("Tải lên, thay hoặc xoá giấy tờ").check()
    officer.get_by_label("Chia sẻ giấy tờ với cơ quan").check()
    officer.get_by_label("Ghi chú").fill("Đăng ký kết hôn")
    steps.shoot(officer, "request")
    officer.get_by_role("button", name="Gửi yêu cầu").click()
    expect(officer.get_by_text("Cho công dân: Nguyễn T** L**")).to_be_visible()
    expect(officer.get_by_text("Đang chờ công dân")).to_be_visible()
    steps.shoot(officer, "waiting")

    # The screen turns towards her; she reads who asks and what for, and types her password.
    officer.get_by_role("link", name="Mở màn hình đồng ý").click()
    consent = officer.locator("section.consent")
    expect(consent).to_contain_text("Cán bộ Trần Thị Lan, UBND phường Hải Châu")
    expect(consent).to_contain_text("Chia sẻ giấy tờ với cơ quan")
    assert float(consent.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")) >= 20
    steps.shoot(officer, "consent-screen")
    officer.get_by_label("Nhập mật khẩu của bạn để đồng ý").fill(PASSWORD)
    officer.get_by_role("button", name="Đồng ý").click()
    expect(officer.get_by_text("Công dân đã đồng ý.")).to_be_visible()
    steps.shoot(officer, "approved")

    officer.get_by_role("button", name="Bắt đầu làm thay").click()
    banner = officer.locator(".acting-banner")
    expect(banner).to_contain_text("Bạn đang làm thay cho Nguyễn Thị Lan — còn 30 phút")
    steps.shoot(officer, "her-vault-under-the-banner", whole=False)

    officer.get_by_role("link", name="Thêm giấy tờ").click()
    officer.locator("label.choice:has-text('Giấy khai sinh')").first.click()
    scan = {"name": "khai-sinh.png", "mimeType": "image/png", "buffer": files.png()}
    officer.locator("input#file").set_input_files([scan])  # type: ignore[list-item]
    officer.get_by_role("button", name="Lưu giấy tờ").click()
    expect(officer.get_by_role("status")).to_contain_text("Đã lưu giấy tờ")
    steps.shoot(officer, "uploaded", whole=False)

    officer.get_by_role("link", name="Chia sẻ giấy tờ này").click()
    officer.locator("#agency").select_option(label=counter.name)
    officer.get_by_label("Chia sẻ để làm gì").fill("Đăng ký kết hôn")
    officer.get_by_role("button", name="Chia sẻ").click()
    expect(officer.get_by_role("status")).to_contain_text("Đã chia sẻ")
    # The banner never scrolls away.
    officer.mouse.wheel(0, 3000)
    officer.wait_for_timeout(200)
    box = banner.bounding_box()
    assert box is not None and box["y"] <= 1, box
    steps.shoot(officer, "shared", whole=False)

    banner.get_by_role("button", name="Kết thúc").click()
    expect(officer.get_by_text("Phiên làm thay đã kết thúc.")).to_be_visible()
    steps.shoot(officer, "ended")
    # The counter's browser holds nothing of hers any more.
    officer.goto(f"{base}/")
    expect(officer.locator(".acting-banner")).to_have_count(0)

    citizen.goto(f"{base}/")
    citizen.get_by_role("link", name="Làm thay").click()
    history = citizen.locator("ul.rows")
    expect(history).to_contain_text("Cán bộ Trần Thị Lan, UBND phường Hải Châu")
    expect(history).to_contain_text("đã tải lên Giấy khai sinh")
    expect(history).to_contain_text("đã chia sẻ giấy tờ với UBND phường Hải Châu")
    expect(history).to_contain_text("Người làm thay đã kết thúc phiên này")
    steps.shoot(citizen, "her-history")
    citizen.get_by_role("link", name="Thông báo").click()
    expect(citizen.get_by_text("Phiên làm thay đã kết thúc")).to_be_visible()
    steps.shoot(citizen, "her-notices")
    assert steps.count == 10
