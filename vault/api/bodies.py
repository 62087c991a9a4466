"""A limit on every request body but a multipart upload: JSON and urlencoded forms are read
whole into memory, so without one, a client could make the server hold any amount.

Multipart bodies (papers) are streamed and limited by their own, much larger, rule
(vault.api.forms). The limit is checked as the body is read: a declared Content-Length over it
is refused before any of the body is read, and a chunked body is cut off where it passes it.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(HTTPException):
    """Raised where the app reads the body, inside the app's error handlers, so they answer it
    as they answer any refusal: a problem document for the API, a page for people."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"A request body is limited to {limit:,} bytes.")


class BodyLimit:
    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if headers.get("content-type", "").lower().startswith("multipart/form-data"):
            await self.app(scope, receive, send)
            return
        declared = headers.get("content-length", "")
        over = declared.isdigit() and int(declared) > self.limit
        received = 0

        async def limited() -> Message:
            nonlocal received
            if over:
                raise BodyTooLarge(self.limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        await self.app(scope, limited, send)
