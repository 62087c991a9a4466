"""The pages in a real browser: a citizen on a cheap phone, an officer at the counter."""

from __future__ import annotations

import base64
import hashlib
import re

import httpx2
from playwright.sync_api import Browser, Page, expect

from tests.support import files
from tests.support.api import PASSWORD, new_national_id
from tests.support.server import RunningServer
from tests.web.conftest import DESKTOP, PHONE, Counter
from vault.crypto import signatures
from vault.kit import days

HOME_BUDGET = 100 * 1024


class Taps:
    """Counts what a person does: a tap, a choice in a list, or choosing photos (one act)."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.count = 0

    def tap(self, selector: str) -> None:
        self.page.locator(selector).first.tap()
        self.count += 1

    def select(self, selector: str, label: str) -> None:
        self.page.locator(selector).select_option(label=label)
        self.count += 1

    def choose_photos(self, selector: str, *photos: dict[str, object]) -> None:
        self.page.locator(selector).set_input_files(list(photos))  # type: ignore[arg-type]
        self.count += 1


def _sign_up(page: Page, base: str, number: str, name: str) -> None:
    page.goto(f"{base}/signup")
    page.get_by_label("Số định danh cá nhân").fill(number)
    page.get_by_label("Họ và tên").fill(name)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Tạo tài khoản").click()
    expect(page.get_by_role("status")).to_contain_text("Đã tạo tài khoản")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("heading", name="Giấy tờ của tôi")).to_be_visible()


def _officer_logs_in(page: Page, base: str, counter: Counter) -> None:
    page.goto(f"{base}/agency/login")
    page.get_by_label("Tên đăng nhập").fill(counter.username)
    page.get_by_label("Mật khẩu").fill(counter.password)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("heading", name="Mở giấy tờ công dân chia sẻ")).to_be_visible()


def test_store_share_show_and_revoke(
    browser: Browser, served: RunningServer, counter: Counter
) -> None:
    base = served.url
    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="vi-VN")
    citizen = phone.new_page()
    _sign_up(citizen, base, new_national_id(), "Nguyễn Thị Hoa")

    taps = Taps(citizen)
    taps.tap("text=Thêm giấy tờ")
    taps.tap("label.choice:has-text('Thẻ căn cước')")
    front = {"name": "mat-truoc.jpg", "mimeType": "image/jpeg", "buffer": files.jpeg_with_gps()}
    back = {"name": "mat-sau.png", "mimeType": "image/png", "buffer": files.png()}
    taps.choose_photos("input#file", front, back)
    taps.tap("button:has-text('Lưu giấy tờ')")
    expect(citizen.get_by_role("status")).to_contain_text("Đã lưu giấy tờ")
    expect(citizen.locator("dd").first).to_have_text("2")  # two photos, one two-page paper
    taps.tap("text=Chia sẻ giấy tờ này")
    taps.select("#agency", counter.name)
    taps.tap("button:has-text('Chia sẻ')")
    expect(citizen.get_by_role("status")).to_contain_text("Đã chia sẻ")
    print(f"\n{taps.count} taps to store a two-sided card and share it")
    assert taps.count <= 8, f"{taps.count} taps to store a two-sided card and share it"
    qr = citizen.get_by_role("img", name="Mã QR")
    expect(qr).to_be_visible()
    # The image is in the page before its bytes are: wait until it is decoded, then measure it.
    assert qr.evaluate("image => image.decode().then(() => image.naturalWidth)") > 100
    link = citizen.locator(".link-text").inner_text().strip()
    assert link.startswith(f"{base}/agency/share/")

    # The citizen's home page, as a cheap phone loads it, stays light.
    loaded: list[int] = []
    citizen.on("response", lambda r: loaded.append(len(r.body())) if r.ok else None)
    citizen.goto(f"{base}/")
    citizen.wait_for_load_state("networkidle")
    print(f"home page: {sum(loaded)} bytes in {len(loaded)} responses")
    assert sum(loaded) <= HOME_BUDGET, f"the home page weighs {sum(loaded)} bytes"

    desk = browser.new_context(viewport=DESKTOP, locale="vi-VN")
    officer = desk.new_page()
    _officer_logs_in(officer, base, counter)
    officer.get_by_label("Mã hoặc đường dẫn chia sẻ").fill(link)
    officer.get_by_role("button", name="Mở").click()
    expect(officer.get_by_role("heading", name="Giấy tờ công dân chia sẻ")).to_be_visible()
    expect(officer.locator("p.lead")).to_contain_text("Nguyễn Thị Hoa")
    expect(officer.get_by_text("Xuất trình tại bộ phận một cửa")).to_be_visible()
    pages = officer.get_by_role("img", name=re.compile("trang [12], bản có đóng dấu"))
    expect(pages).to_have_count(2)  # both sides, stamped, in the page
    for index in range(2):
        pages.nth(index).scroll_into_view_if_needed()
        officer.wait_for_function(
            "image => image.complete && image.naturalWidth > 0",
            arg=pages.nth(index).element_handle(),
        )
    with officer.expect_download() as download:
        officer.get_by_role("link", name="Tải bản có đóng dấu (PDF)").click()
    assert download.value.suggested_filename.endswith(".pdf")

    citizen.goto(f"{base}/shares")
    citizen.get_by_role("button", name="Thu hồi").first.tap()
    expect(citizen.get_by_role("status")).to_contain_text("Đã thu hồi")
    officer.reload()
    expect(officer.get_by_role("alert")).to_contain_text("Công dân đã thu hồi phần chia sẻ này")

    citizen.goto(f"{base}/access-log")
    log = citizen.locator(".rows")
    expect(log).to_contain_text(counter.name)
    expect(log).to_contain_text(counter.username)
    expect(log).to_contain_text("Bị từ chối: bạn đã thu hồi")
    phone.close()
    desk.close()


def test_dossier_reuses_the_vault_and_the_agency_completes_it(
    browser: Browser, served: RunningServer, counter: Counter
) -> None:
    base = served.url
    number = new_national_id()
    # The citizen's vault already holds the papers the procedure needs.
    with httpx2.Client(base_url=base) as api:
        api.post(
            "/api/v1/citizens",
            json={"national_id": number, "full_name": "Lê Văn Nam", "password": PASSWORD},
        )
        token = api.post(
            "/api/v1/auth/token", data={"username": number, "password": PASSWORD}
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        born = 1900 + 100 * (int(number[3]) // 2) + int(number[4:6])
        api.patch(
            "/api/v1/citizens/me",
            headers=auth,
            json={"date_of_birth": f"{born}-05-01", "address": "Đà Nẵng"},
        )
        for doc_type, issued in (("CCCD", "2024-01-10"), ("XNTTHN", days.today().isoformat())):
            stored = api.post(
                "/api/v1/documents",
                headers=auth,
                data={"doc_type": doc_type, "issued_on": issued},
                files={"file": ("p.pdf", files.pdf())},
            )
            assert stored.status_code == 201, stored.text

    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    citizen = phone.new_page()
    citizen.goto(f"{base}/login")
    citizen.get_by_label("Số định danh cá nhân").fill(number)
    citizen.get_by_label("Mật khẩu").fill(PASSWORD)
    citizen.get_by_role("button", name="Đăng nhập").click()
    citizen.get_by_role("link", name="Hồ sơ", exact=True).tap()
    citizen.get_by_role("link", name="Nộp hồ sơ mới").tap()
    citizen.locator("label.choice:has-text('Đăng ký kết hôn')").tap()
    citizen.get_by_role("button", name="Tiếp tục").tap()
    citizen.get_by_label("Nộp tại").select_option(label=counter.name)
    citizen.get_by_role("button", name="Tạo hồ sơ").tap()
    papers = citizen.locator("#papers")
    expect(papers).to_contain_text("Thẻ căn cước")
    expect(papers).to_contain_text("lấy từ kho của bạn")
    assert papers.get_by_text("lấy từ kho của bạn").count() == 2
    expect(citizen.get_by_label("Họ, chữ đệm và tên *")).to_have_value("Lê Văn Nam")
    for label, value in (
        ("Họ, chữ đệm và tên bên kia *", "Phạm Thị Thu"),
        ("Số định danh cá nhân bên kia *", "048096001111"),
        ("Nơi cư trú bên kia *", "Đà Nẵng"),
    ):
        citizen.get_by_label(label, exact=True).fill(value)
    citizen.locator("input[type=date][name=f_ngay_sinh_ben_kia]").fill("1996-02-03")
    citizen.locator("select[name=f_ket_hon_lan_thu]").select_option(index=1)
    citizen.get_by_role("button", name="Lưu", exact=True).tap()
    expect(citizen.get_by_role("status")).to_contain_text("Đã lưu tờ khai")
    citizen.get_by_role("button", name="Nộp hồ sơ").tap()
    expect(citizen.get_by_role("status")).to_contain_text("Đã nộp hồ sơ")
    dossier_url = citizen.url.split("?")[0]

    desk = browser.new_context(viewport=DESKTOP)
    officer = desk.new_page()
    _officer_logs_in(officer, base, counter)
    officer.get_by_role("link", name="Hồ sơ gửi đến").first.click()
    officer.get_by_role("link", name="Đăng ký kết hôn — Lê Văn Nam").click()
    expect(officer.locator("dl.facts")).to_contain_text("Phạm Thị Thu")
    expect(officer.locator("ul.rows").first).to_contain_text("Bản tự chụp")
    expect(officer.locator("ul.rows").first).not_to_contain_text("trust.")
    with officer.expect_download():
        officer.get_by_role("link", name="Thẻ căn cước").first.click()
    certificate = files.pdf(text=b"GIAY CHUNG NHAN KET HON")
    signature = base64.b64encode(
        signatures.sign(counter.private_key, hashlib.sha256(certificate).digest())
    ).decode()
    officer.get_by_label("Số", exact=True).fill("45/2026")
    officer.get_by_label("Chữ ký số (base64)").fill(signature)
    officer.get_by_label("Tệp PDF đã ký").set_input_files(
        {"name": "gcnkh.pdf", "mimeType": "application/pdf", "buffer": certificate}
    )
    officer.get_by_role("button", name="Gửi vào kho của công dân").click()
    expect(officer.get_by_role("status")).to_contain_text("Đã gửi giấy tờ kết quả")
    officer.get_by_label("Trạng thái mới").select_option(label="Đã hoàn thành")
    officer.get_by_role("button", name="Lưu").click()
    expect(officer.locator("p.status")).to_have_text("Đã hoàn thành")

    citizen.goto(dossier_url)
    expect(citizen.locator("p.status")).to_have_text("Đã hoàn thành")
    citizen.get_by_role("link", name="Xem giấy tờ cơ quan đã cấp").tap()
    expect(citizen.locator("dl.facts")).to_contain_text("Bản điện tử do cơ quan cấp")
    expect(citizen.locator("dl.facts")).to_contain_text(counter.name)
    phone.close()
    desk.close()


def test_english_switch_and_no_untranslated_keys(browser: Browser, served: RunningServer) -> None:
    page = browser.new_page()
    page.goto(f"{served.url}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Kho giấy tờ điện tử của công dân")
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your personal document vault")
    for path in ("/", "/login", "/signup", "/agency/login"):
        page.goto(f"{served.url}{path}")
        text = page.locator("body").inner_text()
        assert not re.search(r"\b[a-z_]+\.[a-z_.]*[a-z]\b", text), text  # a message id left as is
    page.close()


UNLABELLED = """() => Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea, button, a[href]'))
  .filter(el => {
    const named = (el.labels && el.labels.length) || el.getAttribute('aria-label') || (el.textContent || '').trim();
    return !named;
  }).map(el => el.outerHTML.slice(0, 120))"""


def test_every_control_has_a_name_and_pages_answer_the_keyboard(
    browser: Browser, served: RunningServer, counter: Counter
) -> None:
    page = browser.new_page(viewport=PHONE)
    _sign_up(page, served.url, new_national_id(), "Đỗ Thị Mai")
    for path in (
        "/",
        "/papers/new",
        "/share",
        "/shares",
        "/access-log",
        "/dossiers",
        "/dossiers/new",
        "/dossiers/new?procedure=1.000894",
        "/profile",
    ):
        page.goto(f"{served.url}{path}")
        assert page.evaluate(UNLABELLED) == [], path
        assert page.locator("h1").count() == 1, path
    page.goto(f"{served.url}/")
    page.keyboard.press("Tab")
    assert (
        page.evaluate("document.activeElement.textContent.trim()") == "Bỏ qua, tới nội dung chính"
    )
    page.close()
