"""The pages against an attacker: forged forms, another citizen's papers, open redirects,
scripts in what a citizen typed, bad form values, sessions that outlive a logout."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image

from tests.support import api, files
from tests.support.api import PASSWORD, Account

pytestmark = pytest.mark.journey  # whole journeys: the full tier, not the edit loop

CSRF_INPUT = re.compile(r'name="csrf" value="([^"]+)"')


class Browser:
    """One person's browser: its own cookie jar, the CSRF token its pages carry."""

    def __init__(self, app: FastAPI) -> None:
        self.client = TestClient(app, follow_redirects=False)

    def csrf(self, page: str = "/login") -> str:
        found = CSRF_INPUT.search(self.client.get(page).text)
        assert found, page
        return found.group(1)

    def log_in(self, account: Account) -> None:
        form = {"national_id": account.national_id, "password": PASSWORD, "csrf": self.csrf()}
        answer = self.client.post("/login", data=form)
        assert answer.status_code == 303, answer.text

    def post(self, path: str, **form: str) -> int:
        return self.client.post(path, data={"csrf": self.csrf("/profile"), **form}).status_code


@pytest.fixture
def browsers(app: FastAPI) -> Iterator[tuple[Browser, Browser]]:
    first, second = Browser(app), Browser(app)
    with first.client, second.client:
        yield first, second


def _paper(client: TestClient, owner: Account, **fields: str) -> str:
    stored = api.upload(client, owner, ("giay.pdf", files.pdf()), **fields)
    assert stored.status_code == 201, stored.text
    return str(stored.json()["id"])


def _papers(client: TestClient, owner: Account) -> list[str]:
    return [p["id"] for p in client.get("/api/v1/documents", headers=owner.headers).json()]


def test_forms_without_the_right_csrf_token_are_refused_and_change_nothing(
    client: TestClient, browsers: tuple[Browser, Browser]
) -> None:
    mine, attacker = browsers
    citizen = api.register(client)
    paper = _paper(client, citizen)
    mine.log_in(citizen)
    delete = f"/papers/{paper}/delete"

    assert mine.client.post(delete).status_code == 403
    assert mine.client.post(delete, data={"csrf": "forged"}).status_code == 403
    # A token from the attacker's own browser does not match this browser's cookie.
    assert mine.client.post(delete, data={"csrf": attacker.csrf()}).status_code == 403
    refused = mine.client.post(
        "/papers", files=[("file", ("x.pdf", files.pdf(), "application/pdf"))], data={}
    )
    assert refused.status_code == 403
    assert "text/html" in refused.headers["content-type"]
    assert _papers(client, citizen) == [paper]

    assert mine.post(delete) == 303
    assert _papers(client, citizen) == []


def test_a_csrf_cookie_planted_in_the_browser_forges_nothing_once_signed_in(
    client: TestClient, browsers: tuple[Browser, Browser]
) -> None:
    """Cookie tossing (a sibling subdomain, or a plain-HTTP answer on the counter's network):
    the attacker chooses the CSRF cookie's value, but a signed-in form's token is bound to the
    session, which the attacker cannot read."""
    mine, _ = browsers
    citizen = api.register(client)
    paper = _paper(client, citizen)
    mine.log_in(citizen)
    mine.client.cookies.delete("vault_csrf")
    mine.client.cookies.set("vault_csrf", "chosen-by-attacker")
    forged = mine.client.post(f"/papers/{paper}/delete", data={"csrf": "chosen-by-attacker"})
    assert forged.status_code == 403
    assert _papers(client, citizen) == [paper]
    assert mine.post(f"/papers/{paper}/delete") == 303


def test_a_form_posted_after_its_session_ended_elsewhere_goes_to_the_login(
    client: TestClient, browsers: tuple[Browser, Browser]
) -> None:
    """Logged out in another tab: the page's form, bound to the session gone, leads to the
    login page rather than a refusal as forged."""
    mine, _ = browsers
    mine.log_in(api.register(client))
    token = mine.csrf("/profile")
    assert mine.post("/logout") == 303
    answer = mine.client.post("/profile", data={"csrf": token, "full_name": "Lê Văn Mới"})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/profile"


def test_a_csrf_token_that_is_not_ascii_is_refused_not_an_error(
    client: TestClient, browsers: tuple[Browser, Browser]
) -> None:
    mine, _ = browsers
    mine.client.get("/login")
    login = {"csrf": "é", "national_id": "001099012345", "password": "x"}
    assert mine.client.post("/login", data=login).status_code == 403
    citizen = api.register(client)
    paper = _paper(client, citizen)
    mine.log_in(citizen)
    assert mine.client.post(f"/papers/{paper}/delete", data={"csrf": "ü"}).status_code == 403
    added = mine.client.post(
        "/papers",
        data={"csrf": "ü"},
        files=[("file", ("x.pdf", files.pdf(), "application/pdf"))],
    )
    assert added.status_code == 403
    tus = {"Tus-Resumable": "1.0.0", "Upload-Length": "10", "X-CSRF-Token": b"\xc3\xa9"}
    answer = mine.client.post("/api/v1/uploads", headers=tus)  # type: ignore[arg-type]
    assert answer.status_code == 403
    assert _papers(client, citizen) == [paper]


def test_over_https_the_cookies_are_host_only_and_browsers_are_told_to_stay(
    app: FastAPI, client: TestClient
) -> None:
    citizen = api.register(client)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as browser:
        page = browser.get("/login")
        assert page.headers["strict-transport-security"] == "max-age=31536000"
        set_cookie = page.headers["set-cookie"]
        assert set_cookie.startswith("__Host-vault_csrf=") and "Secure" in set_cookie
        found = CSRF_INPUT.search(page.text)
        assert found
        form = {"national_id": citizen.national_id, "password": PASSWORD, "csrf": found.group(1)}
        answer = browser.post("/login", data=form)
        assert answer.status_code == 303
        assert "__Host-vault_session=" in answer.headers["set-cookie"]
        assert browser.get("/profile").status_code == 200
        # A cookie without the prefix, as a subdomain could set it, is no session here.
        session = browser.cookies.get("__Host-vault_session")
        planted = TestClient(app, base_url="https://testserver", follow_redirects=False)
        planted.cookies.set("vault_session", session or "")
        assert planted.get("/profile").status_code == 303
    with TestClient(app, follow_redirects=False) as plain:
        assert "strict-transport-security" not in plain.get("/login").headers


def test_a_citizen_cannot_reach_another_citizens_papers_or_shares_through_the_pages(
    client: TestClient, browsers: tuple[Browser, Browser]
) -> None:
    owner, stranger = api.register(client), api.register(client)
    paper = _paper(client, owner)
    api.register_agency(client, "UBND-A")
    grant = api.share(client, owner, "UBND-A", paper).json()
    _, theirs = browsers
    theirs.log_in(stranger)

    for page in ("", "/file", "/thumbnail", "/replace", "/delete"):
        assert theirs.client.get(f"/papers/{paper}{page}").status_code == 404, page
    assert theirs.post(f"/papers/{paper}/delete") == 404
    assert theirs.client.get(f"/shares/{grant['id']}").status_code == 404
    assert theirs.client.get(f"/shares/{grant['id']}/qr").status_code == 404
    assert theirs.post(f"/shares/{grant['id']}/revoke") == 404
    assert theirs.post("/share", paper=paper, agency="UBND-A", purpose="x") == 404
    assert _papers(client, owner) == [paper]
    live = client.get("/api/v1/grants", headers=owner.headers).json()
    assert [g["status"] for g in live] == ["active"]


@pytest.mark.parametrize(
    "target",
    ["//evil.example/", "/\\evil.example/", "https://evil.example/", "/\t/evil.example", ""],
)
def test_the_login_form_is_never_an_open_redirect(
    client: TestClient, browsers: tuple[Browser, Browser], target: str
) -> None:
    citizen = api.register(client)
    mine, _ = browsers
    form = {
        "national_id": citizen.national_id,
        "password": PASSWORD,
        "csrf": mine.csrf(),
        "next": target,
    }
    answer = mine.client.post("/login", data=form)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/"
    page = mine.client.get("/login", params={"next": target}).text
    assert "evil.example" not in page


def test_what_a_citizen_typed_is_shown_as_text_never_run(
    client: TestClient, browsers: tuple[Browser, Browser]
) -> None:
    citizen = api.register(client, full_name='<img src=x onerror="alert(1)">')
    paper = _paper(client, citizen, title="<script>alert('giấy')</script>")
    mine, _ = browsers
    mine.log_in(citizen)
    for page in ("/", f"/papers/{paper}", "/profile"):
        html = mine.client.get(page)
        assert html.status_code == 200
        assert "<script>alert" not in html.text and "<img src=x" not in html.text
        assert "default-src 'self'" in html.headers["content-security-policy"]
        assert html.headers["cache-control"] == "no-store"
    assert "&lt;script&gt;alert(" in mine.client.get(f"/papers/{paper}").text
    assert citizen.national_id in mine.client.get("/profile").text


@pytest.mark.parametrize(
    ("path", "form", "field"),
    [
        ("/share", {"paper": "not-an-id", "agency": "UBND-A", "purpose": "x"}, "paper"),
        ("/share", {"paper": "{paper}", "agency": "UBND-A", "purpose": "x", "days": "a"}, "days"),
        ("/share", {"paper": "{paper}", "agency": "UBND-A", "max_uses": "-1"}, "max_uses"),
        (
            "/share",
            {"paper": "{paper}", "agency": "UBND-A", "purpose": "x", "days": "9" * 5000},
            "days",
        ),
        (
            "/share",
            {"paper": "{paper}", "agency": "UBND-A", "purpose": "x", "max_uses": "٣"},
            "max_uses",
        ),
        ("/profile", {"full_name": "An", "date_of_birth": "31/12/1990"}, "date_of_birth"),
        ("/profile", {"full_name": "An", "phone": "call me maybe"}, "phone"),
        ("/profile", {"full_name": "A" * 201}, "full_name"),
        ("/profile", {"full_name": "An", "address": "Đà Nẵng " * 50}, "address"),
    ],
)
def test_bad_form_values_get_a_clear_page_and_leave_nothing(
    client: TestClient,
    browsers: tuple[Browser, Browser],
    path: str,
    form: dict[str, str],
    field: str,
) -> None:
    citizen = api.register(client)
    paper = _paper(client, citizen)
    api.register_agency(client, "UBND-A")
    mine, _ = browsers
    mine.log_in(citizen)
    values = {k: v.replace("{paper}", paper) for k, v in form.items()}
    answer = mine.client.post(path, data={"csrf": mine.csrf("/profile"), **values})
    assert answer.status_code == 422, field
    assert "text/html" in answer.headers["content-type"]
    assert client.get("/api/v1/grants", headers=citizen.headers).json() == []
    profile = client.get("/api/v1/citizens/me", headers=citizen.headers).json()
    assert profile["date_of_birth"] is None and profile["phone"] is None
    assert profile["full_name"] == "Nguyễn Văn An" and profile["address"] is None


def test_a_session_ends_on_the_server_at_logout_and_its_cookie_is_httponly(
    client: TestClient, browsers: tuple[Browser, Browser]
) -> None:
    citizen = api.register(client)
    mine, _ = browsers
    form = {"national_id": citizen.national_id, "password": PASSWORD, "csrf": mine.csrf()}
    answer = mine.client.post("/login", data=form)
    cookie = next(c for c in answer.headers.get_list("set-cookie") if "vault_session=" in c)
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    stolen = mine.client.cookies.get("vault_session")
    assert stolen
    assert "clear-site-data" not in answer.headers

    out = mine.client.post("/logout", data={"csrf": mine.csrf("/profile")})
    assert out.status_code == 303
    # What the pages kept in the browser (an unfinished upload's address) goes with the session.
    assert out.headers["clear-site-data"] == '"storage"'
    replay = TestClient(client.app, follow_redirects=False, cookies={"vault_session": stolen})
    with replay:
        assert replay.get("/profile").status_code == 303
        assert replay.get("/profile").headers["location"].startswith("/login")


def _officer(client: TestClient, agency: str, username: str) -> TestClient:
    from vault import db
    from vault.accounts import officers

    with db.unit_of_work(client.app.state.engine) as session:  # type: ignore[attr-defined]
        officers.create(
            session, agency_code=agency, username=username, full_name="Cán bộ", password=PASSWORD
        )
    counter = Browser(client.app)  # type: ignore[arg-type]
    form = {"username": username, "password": PASSWORD, "csrf": counter.csrf("/agency/login")}
    assert counter.client.post("/agency/login", data=form).status_code == 303
    return counter.client


def test_an_officer_reaches_only_shares_made_for_their_own_agency(client: TestClient) -> None:
    owner = api.register(client)
    paper = _paper(client, owner)
    api.register_agency(client, "UBND-A")
    api.register_agency(client, "UBND-B")
    token = api.share(client, owner, "UBND-A", paper).json()["token"]
    other, own = _officer(client, "UBND-B", "can-bo-b"), _officer(client, "UBND-A", "can-bo-a")

    with other, own:
        assert other.get(f"/agency/share/{token}").status_code == 403
        assert other.get(f"/agency/share/{token}/papers/{paper}").status_code == 403
        assert other.get(f"/agency/share/{token}x").status_code == 404
        assert own.get(f"/agency/share/{token}").status_code == 200
        assert own.get(f"/agency/share/{token}/papers/{paper}?stamped=1&page=1").status_code == 200
        # Signed out, the counter pages send to the login page and show nothing.
        anonymous = TestClient(client.app, follow_redirects=False)
        assert (
            anonymous.get(f"/agency/share/{token}").headers["location"].startswith("/agency/login")
        )

    log = client.get("/api/v1/access-log", headers=owner.headers).json()
    denied = [e for e in log if e["outcome"] == "denied"]
    assert denied and all(e["agency"]["code"] == "UBND-B" for e in denied)
    assert {e["officer"]["username"] for e in log if e["outcome"] == "success"} == {"can-bo-a"}
    assert {e["officer"]["username"] for e in denied} == {"can-bo-b"}


def test_the_counter_previews_cost_no_use_but_are_logged(client: TestClient) -> None:
    owner = api.register(client)
    paper = _paper(client, owner)
    api.register_agency(client, "UBND-A")
    token = api.share(client, owner, "UBND-A", paper, max_uses=1).json()["token"]
    officer = _officer(client, "UBND-A", "can-bo-a")
    base = f"/agency/share/{token}/papers/{paper}"

    with officer:
        page = officer.get(f"/agency/share/{token}")
        assert page.status_code == 200 and f"{base}?page=1" in page.text
        for _ in range(3):
            preview = officer.get(f"{base}?page=1")
            assert preview.status_code == 200
            assert preview.headers["content-type"] == "image/jpeg"
        assert officer.get(f"{base}?page=5").status_code == 422
        assert officer.get(base).status_code == 200
        refused = officer.get(base)
        assert refused.status_code == 410
        assert "as many times" in refused.text or "hết số lần" in refused.text  # says why
        assert officer.get(f"{base}?page=1").status_code == 410

    log = client.get("/api/v1/access-log", headers=owner.headers).json()
    done = [e["action"] for e in log if e["outcome"] == "success"]
    assert sorted(done) == ["share.download", "share.open"] + ["share.preview"] * 3


def test_a_preview_is_screen_sized_and_the_counted_copy_is_whole(client: TestClient) -> None:
    """A preview costs no use, so it must not be the copy a download gives."""
    owner = api.register(client)
    photo = api.upload(client, owner, ("the.png", files.png(size=(2400, 1800)))).json()["id"]
    scan = _paper(client, owner)
    api.register_agency(client, "UBND-A")
    token = api.share(client, owner, "UBND-A", photo, scan).json()["token"]
    officer = _officer(client, "UBND-A", "can-bo-a")
    with officer:
        for paper in (photo, scan):
            shown = officer.get(f"/agency/share/{token}/papers/{paper}?page=1")
            assert shown.status_code == 200
            assert max(Image.open(io.BytesIO(shown.content)).size) <= 1000
        copy = officer.get(f"/agency/share/{token}/papers/{photo}?stamped=1")
        assert copy.status_code == 200
        assert Image.open(io.BytesIO(copy.content)).size == (2400, 1800)


def test_replacing_a_paper_on_its_page_keeps_its_details(
    client: TestClient, browsers: tuple[Browser, Browser]
) -> None:
    citizen = api.register(client)
    details = {"title": "Hộ chiếu", "issued_on": "2020-01-01", "expires_on": "2030-01-01"}
    paper = _paper(client, citizen, doc_type="HC", number="B1234567", **details)
    mine, _ = browsers
    mine.log_in(citizen)
    page = mine.client.get(f"/papers/{paper}/replace").text
    for value in ("Hộ chiếu", "B1234567", "2020-01-01", "2030-01-01"):
        assert f'value="{value}"' in page
    form = {"csrf": mine.csrf(f"/papers/{paper}/replace"), "number": "B1234567", **details}
    sent = mine.client.post(
        f"/papers/{paper}/replace", data=form, files={"file": ("b.pdf", files.pdf())}
    )
    assert sent.status_code == 303
    now = client.get(f"/api/v1/documents/{paper}", headers=citizen.headers).json()
    assert (now["version"], now["title"], now["expires_on"]) == (2, "Hộ chiếu", "2030-01-01")


def test_refused_page_logins_still_count(client: TestClient) -> None:
    """Each attempt is counted in a unit of work of its own before the password is checked:
    the refused logins' requests roll back, yet the sixth, with the right password, is
    throttled, for a citizen as for an officer."""
    citizen = api.register(client)
    api.register_agency(client, "UBND-A")
    _officer(client, "UBND-A", "can-bo-a").close()
    page = Browser(client.app)  # type: ignore[arg-type]
    for path, field, name in (
        ("/login", "national_id", citizen.national_id),
        ("/agency/login", "username", "can-bo-a"),
    ):
        answers = [
            page.client.post(
                path, data={field: name, "password": password, "csrf": page.csrf(path)}
            ).status_code
            for password in ["wrong password"] * 5 + [PASSWORD]
        ]
        assert answers == [401] * 5 + [429], path
