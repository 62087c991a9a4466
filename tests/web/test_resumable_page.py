"""The add-paper page with tus-js-client (vendored) in Chromium: through a link cut every 2 MiB;
a slow uplink lost half-way (CDP network emulation) and back, with nobody touching anything;
a reload mid-upload that offers to continue where it stopped, though the browser keeps no file
name, and forgets even that at logout."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import select

from tests.support.api import new_national_id
from tests.support.cutting import CuttingProxy, cutting_proxy
from tests.support.server import RunningServer
from tests.support.tus import marked_pdf
from tests.web.conftest import PHONE
from tests.web.test_pages import _sign_up
from vault import db
from vault.documents.models import ResumableUpload
from vault.settings import Settings

pytestmark = pytest.mark.servers
SIZE = 6 << 20


def _port(server: RunningServer) -> int:
    port = urlsplit(server.url).port
    assert port is not None
    return port


def _phone(browser: Browser, proxy: CuttingProxy) -> Page:
    context = browser.new_context(viewport=PHONE, locale="vi-VN")
    page = context.new_page()
    _sign_up(page, proxy.url, new_national_id(), "Phạm Văn Tải")
    return page


def _pick(page: Page, base: str, pdf: Path) -> None:
    page.goto(f"{base}/papers/new")
    page.locator("label.choice:has-text('Giấy khai sinh')").click()
    page.locator("input#file").set_input_files(str(pdf))


def _percent(page: Page) -> int:
    return int(page.locator("progress").evaluate("bar => bar.value"))


def _kept(page: Page) -> str:
    """Everything the pages keep in the browser's storage, names and values."""
    return str(page.evaluate("JSON.stringify(Object.entries(localStorage))"))


def _half_way(page: Page, percent: int) -> None:
    deadline = time.monotonic() + 30
    while _percent(page) < percent and time.monotonic() < deadline:
        time.sleep(0.1)


def _uploads(settings: Settings) -> int:
    """How many resumable uploads the vault has had made (a paper keeps its upload's row)."""
    engine = db.make_engine(settings.resolved_database_url)
    with db.unit_of_work(engine, writes=False) as session:
        count = len(session.exec(select(ResumableUpload)).all())
    engine.dispose()
    return count


def _stored(page: Page, base: str) -> bytes:
    expect(page.get_by_role("status").first).to_contain_text("Đã lưu giấy tờ", timeout=60_000)
    found = re.search(r"/papers/([0-9a-f-]{36})", page.url)
    assert found, page.url
    return page.request.get(f"{base}/papers/{found.group(1)}/file").body()


def test_tus_js_client_through_a_link_cut_every_2_mib(
    browser: Browser, served: RunningServer, tmp_path: Path
) -> None:
    data = marked_pdf(SIZE)
    pdf = tmp_path / "ban-ve.pdf"
    pdf.write_bytes(data)
    with cutting_proxy(_port(served), 2 << 20) as proxy:
        page = _phone(browser, proxy)
        _pick(page, proxy.url, pdf)
        page.get_by_role("button", name="Lưu giấy tờ").click()
        assert _stored(page, proxy.url) == data
        assert proxy.cuts >= 2, proxy.cuts


def test_offline_half_way_pauses_and_goes_on_by_itself(
    browser: Browser, served: RunningServer, tmp_path: Path
) -> None:
    data = marked_pdf(SIZE)
    pdf = tmp_path / "hop-dong.pdf"
    pdf.write_bytes(data)
    with cutting_proxy(_port(served), 1 << 40, rate=1 << 20) as proxy:
        page = _phone(browser, proxy)
        _pick(page, proxy.url, pdf)
        network = page.context.new_cdp_session(page)
        network.send("Network.enable")
        page.get_by_role("button", name="Lưu giấy tờ").click()
        bar, status = page.locator("progress"), page.locator("[data-upload-status]")
        expect(bar).to_be_visible()
        expect(status).to_contain_text("Đã tải lên")
        expect(status).to_contain_text("MB")
        deadline = time.monotonic() + 30
        while _percent(page) < 35 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert 35 <= _percent(page) < 90, _percent(page)
        offline = {"latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
        network.send("Network.emulateNetworkConditions", {**offline, "offline": True})
        expect(status).to_contain_text("Mất kết nối")
        paused_at = _percent(page)
        time.sleep(2)
        assert _percent(page) == paused_at, "the upload went on while offline"
        network.send("Network.emulateNetworkConditions", {**offline, "offline": False})
        assert _stored(page, proxy.url) == data


def test_a_reload_mid_upload_offers_to_continue_where_it_stopped(
    browser: Browser, served: RunningServer, settings: Settings, tmp_path: Path
) -> None:
    data = marked_pdf(SIZE)
    pdf = tmp_path / "so-do.pdf"
    pdf.write_bytes(data)
    with cutting_proxy(_port(served), 1 << 40, rate=1 << 20) as proxy:
        page = _phone(browser, proxy)
        # What a page kept before it stopped keeping names: dropped when the page loads.
        page.evaluate(
            "localStorage.setItem('tus::tus-br-giay-cu.pdf-application/pdf-9-9-/api/v1/uploads::1',"
            " JSON.stringify({size: 9, metadata: {filename: 'giay-cu.pdf'}}))"
        )
        _pick(page, proxy.url, pdf)
        page.get_by_role("button", name="Lưu giấy tờ").click()
        _half_way(page, 40)
        page.reload()
        offer = page.locator("[data-resume-offer]")
        expect(offer).to_be_visible()
        expect(offer).to_contain_text("so-do.pdf")  # from the server, to the upload's owner
        expect(offer).to_contain_text("Bạn có tệp tải lên dở")
        kept = _kept(page)
        assert "/api/v1/uploads/" in kept
        assert "so-do" not in kept and "giay-cu" not in kept and "filename" not in kept, kept
        _pick(page, proxy.url, pdf)
        page.get_by_role("button", name="Lưu giấy tờ").click()
        expect(offer).to_contain_text("Tải tiếp từ chỗ đã dừng")
        assert _stored(page, proxy.url) == data
    assert _uploads(settings) == 1, "the reload started the upload over instead of continuing it"


def test_logging_out_forgets_the_unfinished_upload_kept_in_the_browser(
    browser: Browser, served: RunningServer, tmp_path: Path
) -> None:
    """A shared computer (the one-stop counter's): the next person finds nothing of it."""
    pdf = tmp_path / "so-do.pdf"
    pdf.write_bytes(marked_pdf(SIZE))
    with cutting_proxy(_port(served), 1 << 40, rate=1 << 20) as proxy:
        page = _phone(browser, proxy)
        _pick(page, proxy.url, pdf)
        page.get_by_role("button", name="Lưu giấy tờ").click()
        _half_way(page, 20)
        assert "/api/v1/uploads/" in _kept(page)
        page.get_by_role("button", name="Đăng xuất").click()
        expect(page.get_by_role("link", name="Đăng nhập")).to_be_visible()
        assert _kept(page) == "[]"


def test_another_file_of_the_same_size_and_time_is_not_taken_for_the_unfinished_one(
    browser: Browser, served: RunningServer, settings: Settings, tmp_path: Path
) -> None:
    """The browser knows an unfinished upload by the file's type, size and time alone: before
    going on from it, the page asks the server its name, and another file starts afresh."""
    first, other = tmp_path / "so-do.pdf", tmp_path / "giay-khac.pdf"
    first.write_bytes(marked_pdf(SIZE))
    data = marked_pdf(SIZE)
    other.write_bytes(data)
    assert first.stat().st_size == other.stat().st_size
    stamp = first.stat().st_mtime_ns
    os.utime(other, ns=(stamp, stamp))
    with cutting_proxy(_port(served), 1 << 40, rate=1 << 20) as proxy:
        page = _phone(browser, proxy)
        _pick(page, proxy.url, first)
        page.get_by_role("button", name="Lưu giấy tờ").click()
        _half_way(page, 30)
        page.reload()
        expect(page.locator("[data-resume-offer]")).to_be_visible()
        _pick(page, proxy.url, other)
        page.get_by_role("button", name="Lưu giấy tờ").click()
        assert _stored(page, proxy.url) == data
    assert _uploads(settings) == 2, "the other file went on from the first one's upload"
