"""Driving the app as a server does, one ASGI message at a time: TestClient sends a body as one
message, and its client never goes away mid-body."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import anyio
from fastapi import FastAPI
from starlette.types import Message


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def body(*pieces: bytes, more: bool = False) -> list[Message | BaseException]:
    """The body in these messages; `more` leaves it unfinished, for a cut or a refusal to follow."""
    messages: list[Message | BaseException] = [
        {"type": "http.request", "body": piece, "more_body": True} for piece in pieces
    ]
    if not more:
        messages.append({"type": "http.request", "body": b"", "more_body": False})
    return messages


DISCONNECT: Message = {"type": "http.disconnect"}


def request(
    app: FastAPI,
    method: str,
    path: str,
    headers: dict[str, str],
    messages: Sequence[Message | BaseException],
) -> Answer:
    """The app's answer to these messages, in order; an exception among them is raised where
    the app receives it. After the last, the client waits for the answer."""
    return anyio.run(_request, app, method, path, headers, list(messages))


async def _request(
    app: FastAPI,
    method: str,
    path: str,
    headers: dict[str, str],
    messages: list[Message | BaseException],
) -> Answer:
    sent: list[Message] = []

    async def receive() -> Message:
        if not messages:
            await anyio.sleep_forever()
        message = messages.pop(0)
        if isinstance(message, BaseException):
            raise message
        return message

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 50000),
        "headers": [(b"host", b"testserver")]
        + [(name.lower().encode(), value.encode()) for name, value in headers.items()],
    }
    with anyio.fail_after(60):
        await app(scope, receive, send)
    start = next(message for message in sent if message["type"] == "http.response.start")
    return Answer(
        status=start["status"],
        headers={name.decode(): value.decode() for name, value in start["headers"]},
        body=b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body"),
    )
