"""A limit on every request body but a streamed upload: JSON and urlencoded forms are read
whole into memory, so without one, a client could make the server hold any amount.

The upload parser (vault.api.forms) lifts the limit for its own request, which it holds to its
own, much larger, rule while it streams. Any other route keeps it, whatever Content-Type the
client claims: a JSON route sent "multipart/form-data" would otherwise read the body whole. The
limit is checked as the body is read: a declared Content-Length over it is refused before any
of the body is read, and a chunked body is cut off where it passes it.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(HTTPException):
    """Raised where the app reads the body, inside the app's error handlers, so they answer it
    as they answer any refusal: a problem document for the API, a page for people."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"A request body is limited to {limit:,} bytes.")


_LIMIT = "vault.body_limit"


@dataclass
class _Limit:
    """Held in the scope by reference: a middleware between BodyLimit and the route may pass a
    copy of the scope on (the tus method override does), and a lift on the copy must reach the
    check BodyLimit makes on the original."""

    most: int | None


def lift(scope: Scope) -> None:
    """For a route that streams its body under a limit of its own."""
    limit = scope.get(_LIMIT)
    if isinstance(limit, _Limit):
        limit.most = None


class BodyLimit:
    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        held = scope[_LIMIT] = _Limit(self.limit)
        declared = Headers(scope=scope).get("content-length", "")
        received = 0

        async def limited() -> Message:
            nonlocal received
            limit = held.most
            if limit is not None and declared.isdigit() and int(declared) > limit:
                raise BodyTooLarge(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if limit is not None and received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, limited, send)
