"""The methods a path answers to, for the `Allow` header every 405 must carry (RFC 9110 §15.5.6).

Starlette stops at the first route whose path matches and names only its methods; a path served
by several routes (GET and DELETE on a grant) would then advertise only one of them. A path that
a route names literally (/assist/sessions/current) is that route's resource alone, though a
parameter of another (/assist/sessions/{session_id}) would capture it too."""

from __future__ import annotations

from fastapi.routing import RouteContext, iter_route_contexts
from starlette.requests import Request
from starlette.routing import Match

_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed(request: Request) -> str:
    matching = {
        method: [
            route
            for route in iter_route_contexts(request.app.router.routes)
            if route.matches({**request.scope, "method": method})[0] == Match.FULL
        ]
        for method in _METHODS
    }
    literal = any(not _parameters(route) for routes in matching.values() for route in routes)
    found = [
        method
        for method, routes in matching.items()
        if any(not (literal and _parameters(route)) for route in routes)
    ]
    return ", ".join(found)


def _parameters(route: RouteContext) -> bool:
    return bool(getattr(route, "param_convertors", None))
