"""The methods a path answers to, for the `Allow` header every 405 must carry (RFC 9110 §15.5.6).

Starlette stops at the first route whose path matches and names only its methods; a path served
by several routes (GET and DELETE on a grant) would then advertise only one of them."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Match

_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed(request: Request) -> str:
    found = [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL
            for route in request.app.router.routes
        )
    ]
    return ", ".join(found)
