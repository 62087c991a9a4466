"""Pages use sessions in HttpOnly, SameSite cookies; every form carries a CSRF token that must
match the one in its cookie (double submit). The JSON API keeps bearer tokens."""

from __future__ import annotations

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


def set_cookie(
    response: Response, request: Request, name: str, value: str, *, max_age: int | None = None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        secure=_secure(request),
        samesite="lax",
        path="/",
    )


def csrf_token(request: Request) -> str:
    """The page's token: the cookie's, or a new one the response will set."""
    token = request.cookies.get(CSRF) or getattr(request.state, "new_csrf", None)
    if token is None:
        token = request.state.new_csrf = secrets.token_urlsafe(32)
    return token


def remember_csrf(request: Request, response: Response) -> None:
    new = getattr(request.state, "new_csrf", None)
    if new is not None:
        set_cookie(response, request, CSRF, new)


def check_csrf(request: Request, submitted: str | None) -> None:
    expected = request.cookies.get(CSRF)
    if not expected or not submitted or not hmac.compare_digest(expected, submitted):
        raise CsrfRejected


def start_acting(response: Response, request: Request, token: str, expires_at: datetime) -> None:
    """This browser now shows a citizen's vault under the acting banner, until the session's
    end; the cookie works only beside its holder's own login (vault.web.citizen)."""
    left = (expires_at - datetime.now(UTC)).total_seconds()
    set_cookie(response, request, ACTING, token, max_age=max(1, int(left)))
