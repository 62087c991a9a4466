"""Every HTTP request counted and timed by route template, and the bytes of every body.

A plain ASGI wrapper over prometheus_client's instruments (vault.kit.metrics): Starlette's
router leaves the route it matched in the scope, so the template ("/api/v1/documents/{id}",
never a paper's id) costs nothing to find, where a generic instrumentation middleware
matches every route a second time for each request. A path no route matched is counted as
"unmatched", so a scanner cannot grow the label set without bound."""

from __future__ import annotations

from time import perf_counter

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vault.kit import metrics

UNMATCHED = "unmatched"


class Tally:
    """One request's status and body bytes, counted as its messages pass; recorded once it
    is answered. Shared by this middleware and the agency's lean download
    (vault.api.lean_fetch), which answers before the middleware stack is reached."""

    def __init__(self, receive: Receive, send: Send) -> None:
        self._receive = receive
        self._send = send
        self.started = perf_counter()
        self.status = 500
        self.received = self.sent = 0

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
        return message

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        elif message["type"] == "http.response.body":
            self.sent += len(message.get("body", b""))
        await self._send(message)

    def record(self, route: str, method: str) -> None:
        metrics.REQUESTS.labels(route, method, str(self.status)).inc()
        metrics.LATENCY.labels(route, method).observe(perf_counter() - self.started)
        metrics.BODY_BYTES.labels("in").inc(self.received)
        metrics.BODY_BYTES.labels("out").inc(self.sent)


class Observed:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        outer = scope.get("root_path", "")
        tally = Tally(receive, send)
        try:
            await self.app(scope, tally.receive, tally.send)
        finally:
            tally.record(_template(scope, outer), scope["method"])


def _template(scope: Scope, outer: str) -> str:
    """The matched route's whole path template. FastAPI keeps routers included under a prefix
    whole and leaves the route it selected, with its full template, in its part of the scope
    (its router's own route object knows only the part under the prefix); a mount (the static
    files) leaves its prefix in root_path. The test of /metrics pins this down."""
    context = scope.get("fastapi", {}).get("effective_route_context")
    template = getattr(context, "path_format", None)
    if template:
        return str(template)
    route = getattr(scope.get("route"), "path", None)
    if route is None:
        return UNMATCHED
    return str(scope.get("root_path", ""))[len(outer) :] + str(route)
