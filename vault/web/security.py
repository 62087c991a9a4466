"""Pages use sessions in HttpOnly, SameSite cookies, named `__Host-…` wherever they are Secure
(production, or HTTPS), so that neither a sibling subdomain nor a plain-HTTP answer on the
counter's network can plant one. Every form carries a CSRF token: signed in, a hash of the
session cookies, which only this browser's pages can know; before signing in, the one in its
own cookie (double submit). The JSON API keeps bearer tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import UTC, datetime

from fastapi import Request, Response

SESSION = "vault_session"
OFFICER = "vault_officer"
# An officer's acting token, in the counter's browser, while they act for a citizen.
ACTING = "vault_acting"
CSRF = "vault_csrf"
LANGUAGE = "vault_lang"
CSRF_FIELD = "csrf"
# Share tokens travel in page paths too: no Referer may carry them elsewhere.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


class LoginRequired(Exception):
    def __init__(self, to: str) -> None:
        super().__init__(to)
        self.to = to


class CsrfRejected(Exception):
    pass


def _secure(request: Request) -> bool:
    settings = request.app.state.settings
    return settings.env == "production" or request.url.scheme == "https"


def _named(request: Request, name: str) -> str:
    return f"__Host-{name}" if _secure(request) else name


def cookie(request: Request, name: str) -> str | None:
    return request.cookies.get(_named(request, name))


def set_cookie(
    response: Response, request: Request, name: str, value: str, *, max_age: int | None = None
) -> None:
    response.set_cookie(
        _named(request, name),
        value,
        max_age=max_age,
        httponly=True,
        secure=_secure(request),
        samesite="lax",
        path="/",
    )


def forget(response: Response, request: Request, name: str) -> None:
    response.delete_cookie(
        _named(request, name), path="/", secure=_secure(request), httponly=True, samesite="lax"
    )


def page_headers(request: Request) -> dict[str, str]:
    """Over HTTPS, browsers are told to come back over HTTPS only: a first plain-HTTP visit on
    a network someone else controls is where cookies get planted."""
    if not _secure(request):
        return PAGE_HEADERS
    return {**PAGE_HEADERS, "Strict-Transport-Security": "max-age=31536000"}


def _bound(request: Request) -> str | None:
    held = [value for value in (cookie(request, SESSION), cookie(request, OFFICER)) if value]
    if not held:
        return None
    digest = hashlib.sha256(b"vault/csrf\x00" + "\x00".join(held).encode()).digest()
    return _BOUND + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


_BOUND = "s."  # a token bound to a session; a pre-login one is URL-safe base64, with no dot


def csrf_token(request: Request) -> str:
    """The page's token: bound to the session; before signing in, the cookie's, or a new one
    the response will set."""
    token = _bound(request) or cookie(request, CSRF) or getattr(request.state, "new_csrf", None)
    if token is None:
        token = request.state.new_csrf = secrets.token_urlsafe(32)
    return token


def remember_csrf(request: Request, response: Response) -> None:
    new = getattr(request.state, "new_csrf", None)
    if new is not None:
        set_cookie(response, request, CSRF, new)


def check_csrf(request: Request, submitted: str | None) -> None:
    bound = _bound(request)
    if bound is None and submitted and submitted.startswith(_BOUND):
        # A signed-in page whose session has gone since (a logout in another tab, its end).
        login = "/agency/login" if request.url.path.startswith("/agency") else "/login"
        raise LoginRequired(f"{login}?next={request.url.path}")
    expected = bound or cookie(request, CSRF)
    # Bytes: compare_digest refuses str holding anything but ASCII, and anyone can send that.
    if (
        not expected
        or not submitted
        or not hmac.compare_digest(expected.encode(), submitted.encode())
    ):
        raise CsrfRejected


def forget_storage(response: Response) -> None:
    """At a logout, or as an acting session ends: what the pages left in the browser's storage
    (tus-js-client's entries for unfinished uploads, with their addresses) is not for the next
    person at a shared computer, such as the one-stop counter's."""
    response.headers["Clear-Site-Data"] = '"storage"'


def start_acting(response: Response, request: Request, token: str, expires_at: datetime) -> None:
    """This browser now shows a citizen's vault under the acting banner, until the session's
    end; the cookie works only beside its holder's own login (vault.web.citizen)."""
    left = (expires_at - datetime.now(UTC)).total_seconds()
    set_cookie(response, request, ACTING, token, max_age=max(1, int(left)))
