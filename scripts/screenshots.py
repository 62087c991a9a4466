"""Screenshots of the main pages at phone width (390 px) and desktop width, for the README.

    python -m scripts.screenshots [--out docs/screenshots]

Starts `vault serve` on a scratch data directory, fills it through the API as a citizen and an
agency would, and photographs the pages in Debian's Chromium.
"""

from __future__ import annotations

import argparse
import secrets
import tempfile
from datetime import timedelta
from pathlib import Path

import httpx2
from playwright.sync_api import Page, sync_playwright

from tests.support import files
from tests.support.server import vault_server
from vault import agencies, db
from vault.accounts import officers
from vault.crypto import signatures
from vault.kit import days

PASSWORD = "một mật khẩu dài"
WIDTHS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 860}}


def seed(base: str, database_url: str) -> dict[str, str]:
    engine = db.make_engine(database_url)
    with db.unit_of_work(engine) as session:
        agencies.create(
            session,
            code="UBND-HAICHAU",
            name="UBND phường Hải Châu",
            public_key_pem=signatures.generate()[1],
        )
        _, officer_password = officers.create(
            session, agency_code="UBND-HAICHAU", username="canbo.lan", full_name="Trần Thị Lan"
        )
    engine.dispose()
    number = f"048095{secrets.randbelow(10**6):06d}"
    with httpx2.Client(base_url=base) as api:
        api.post(
            "/api/v1/citizens",
            json={"national_id": number, "full_name": "Nguyễn Thị Hoa", "password": PASSWORD},
        )
        token = api.post(
            "/api/v1/auth/token", data={"username": number, "password": PASSWORD}
        ).json()
        auth = {"Authorization": f"Bearer {token['access_token']}"}
        api.patch(
            "/api/v1/citizens/me",
            headers=auth,
            json={"date_of_birth": "1995-03-08", "address": "12 Lê Duẩn, Hải Châu, Đà Nẵng"},
        )
        card = api.post(
            "/api/v1/documents",
            headers=auth,
            data={
                "doc_type": "CCCD",
                "number": number,
                "expires_on": str(days.today() + timedelta(days=20)),
            },
            files=[
                ("file", ("truoc.jpg", files.jpeg_with_gps(orientation=1))),
                ("file", ("sau.png", files.png(size=(640, 400)))),
            ],
        ).json()
        for doc_type, name in (("GKS", "khai-sinh.pdf"), ("BTN_THPT", "bang.pdf")):
            api.post(
                "/api/v1/documents",
                headers=auth,
                data={"doc_type": doc_type},
                files={"file": (name, files.pdf())},
            )
        api.post(
            "/api/v1/documents",
            headers=auth,
            data={"doc_type": "XNTTHN", "issued_on": str(days.today())},
            files={"file": ("xn.pdf", files.pdf())},
        )
        grant = api.post(
            "/api/v1/grants",
            headers=auth,
            json={
                "agency": "UBND-HAICHAU",
                "document_ids": [card["id"]],
                "purpose": "Xuất trình tại bộ phận một cửa",
            },
        ).json()
        dossier = api.post(
            "/api/v1/dossiers",
            headers=auth,
            json={"procedure": "1.000894", "agency": "UBND-HAICHAU"},
        ).json()
    return {
        "number": number,
        "card": card["id"],
        "grant": grant["id"],
        "share": grant["share_url"],
        "dossier": dossier["id"],
        "officer_password": officer_password,
    }


def shoot(page: Page, base: str, name: str, out: Path, width: str) -> None:
    page.goto(base + name.split("|")[0])
    page.wait_for_load_state("networkidle")
    label = name.split("|")[1]
    page.screenshot(path=str(out / f"{label}-{width}.png"), full_page=width == "phone")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vault-shots-") as scratch:
        root = Path(scratch)
        env = {"VAULT_DATA_DIR": str(root / "vault")}
        with vault_server(env, root) as server, sync_playwright() as playwright:
            base = server.url
            facts = seed(base, f"sqlite:///{(root / 'vault' / 'vault.db').resolve()}")
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=[
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                ],
            )
            citizen_pages = [
                "/|home",
                "/papers/new?type=CCCD|add-paper",
                f"/papers/{facts['card']}|paper",
                f"/shares/{facts['grant']}|share-qr",
                f"/dossiers/{facts['dossier']}|dossier",
            ]
            for width, viewport in WIDTHS.items():
                context = browser.new_context(viewport=viewport, device_scale_factor=1)
                page = context.new_page()
                page.goto(f"{base}/login")
                page.get_by_label("Số định danh cá nhân").fill(facts["number"])
                page.get_by_label("Mật khẩu").fill(PASSWORD)
                page.get_by_role("button", name="Đăng nhập").click()
                for name in citizen_pages:
                    shoot(page, base, name, args.out, width)
                context.close()
                counter = browser.new_context(viewport=viewport, device_scale_factor=1)
                page = counter.new_page()
                page.goto(f"{base}/agency/login")
                page.get_by_label("Tên đăng nhập").fill("canbo.lan")
                page.get_by_label("Mật khẩu").fill(facts["officer_password"])
                page.get_by_role("button", name="Đăng nhập").click()
                token = facts["share"].rsplit("/", 1)[-1]
                shoot(page, base, f"/agency/share/{token}|counter-share", args.out, width)
                counter.close()
            browser.close()
    print(f"screenshots written to {args.out}")


if __name__ == "__main__":
    main()
