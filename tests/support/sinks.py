"""Where notices land in tests: an SMTP server and a webhook receiver, each in a thread of the
test process on a free loopback port, stopped with nothing left running."""

from __future__ import annotations

import asyncio
import json
import select
import socket
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self, cast

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


def _wait(condition: threading.Condition, items: list[Any], n: int, timeout: float) -> None:
    with condition:
        if not condition.wait_for(lambda: len(items) >= n, timeout):
            raise AssertionError(f"{len(items)} of {n} arrived within {timeout} s")


class _Collector:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []  # each message's envelope, as RCPT gave it
        self.refuse: dict[str, str] = {}
        self.arrived = threading.Condition()

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = cast(bytes, envelope.original_content)
        message = BytesParser(policy=policy.default).parsebytes(content)
        with self.arrived:
            self.messages.append(message)
            self.recipients.append(list(envelope.rcpt_tos))
            self.arrived.notify_all()
        return "250 OK"


class _Controller(Controller):
    """Binds port 0 and learns the port the system chose before it connects to itself."""

    def _trigger_server(self) -> None:
        server = cast(asyncio.Server, self.server)
        self.port = server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


class _Started:
    """A server that runs between `start` and `stop`, or for a `with` block."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class SmtpSink(_Started):
    """Plain SMTP (no TLS, no AUTH): reach it with `smtp://127.0.0.1:{port}?starttls=0`.

    `refuse` maps an address to the reply its RCPT gets, e.g. "550 5.1.1 No such user"."""

    def __init__(self) -> None:
        self._collector = _Collector()
        self._controller = _Controller(self._collector, hostname="127.0.0.1", port=0)
        self.refuse = self._collector.refuse

    @property
    def port(self) -> int:
        return int(self._controller.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?starttls=0"

    @property
    def messages(self) -> list[EmailMessage]:
        with self._collector.arrived:
            return list(self._collector.messages)

    @property
    def recipients(self) -> list[list[str]]:
        """Each message's envelope recipients, in the order the messages arrived."""
        with self._collector.arrived:
            return [list(each) for each in self._collector.recipients]

    def wait_for(self, n: int, timeout: float = 10.0) -> list[EmailMessage]:
        _wait(self._collector.arrived, self._collector.messages, n, timeout)
        return self.messages

    def clear(self) -> None:
        with self._collector.arrived:
            self._collector.messages.clear()
            self._collector.recipients.clear()

    def start(self) -> Self:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()


@dataclass(frozen=True)
class Received:
    """`headers` with lower-case names, as HTTP compares them."""

    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class _Plan:
    status: int | None
    hold: float


class WebhookReceiver(_Started):
    """Answers each POST with `respond(received)` (200 unless replaced), after the plans queued
    by `fail_next` and `hold_next` are used up.

    `received` is every request that arrived, `delivered` those answered 2xx. A request held
    while its sender dies is never answered: its connection is found closed when the hold ends,
    so it is received and `dropped`, not delivered, as the sender saw it."""

    def __init__(self) -> None:
        self.respond: Callable[[Received], int] = lambda received: 200
        self.received: list[Received] = []
        self.delivered: list[Received] = []
        self.dropped: list[Received] = []
        self._plans: deque[_Plan] = deque()
        self._changed = threading.Condition()
        self._closing = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        # Joined on close: a request thread must not outlive the test.
        self._server.daemon_threads = False
        self._server.block_on_close = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="webhooks"
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks/vault"

    def fail_next(self, count: int, status: int = 503) -> None:
        with self._changed:
            self._plans.extend(_Plan(status, 0.0) for _ in range(count))

    def hold_next(self, seconds: float, count: int = 1) -> None:
        with self._changed:
            self._plans.extend(_Plan(None, seconds) for _ in range(count))

    def wait_for(self, n: int, timeout: float = 10.0) -> list[Received]:
        _wait(self._changed, self.received, n, timeout)
        return list(self.received)

    def wait_delivered(self, n: int, timeout: float = 10.0) -> list[Received]:
        _wait(self._changed, self.delivered, n, timeout)
        return list(self.delivered)

    def wait_dropped(self, n: int, timeout: float = 10.0) -> list[Received]:
        _wait(self._changed, self.dropped, n, timeout)
        return list(self.dropped)

    def clear(self) -> None:
        with self._changed:
            self.received.clear()
            self.delivered.clear()
            self.dropped.clear()
            self._plans.clear()

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _arrived(self, received: Received) -> _Plan:
        with self._changed:
            self.received.append(received)
            self._changed.notify_all()
            return self._plans.popleft() if self._plans else _Plan(None, 0.0)

    def _answered(self, received: Received) -> None:
        with self._changed:
            self.delivered.append(received)
            self._changed.notify_all()

    def _dropped(self, received: Received) -> None:
        with self._changed:
            self.dropped.append(received)
            self._changed.notify_all()

    def _unanswered(self, received: Received) -> None:
        with self._changed:
            self.delivered[:] = [r for r in self.delivered if r is not received]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            timeout = 5

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received = Received({k.lower(): v for k, v in self.headers.items()}, body)
                plan = receiver._arrived(received)
                if plan.hold and receiver._closing.wait(plan.hold):
                    self.close_connection = True
                    return
                if plan.hold and _closed(self.connection):
                    receiver._dropped(received)
                    self.close_connection = True
                    return
                status = plan.status or receiver.respond(received)
                # Counted before the answer leaves, so that a sender that has seen its 2xx
                # finds the request delivered; taken back if the answer cannot be written.
                if 200 <= status < 300:
                    receiver._answered(received)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    self.wfile.flush()
                except OSError:
                    receiver._unanswered(received)
                    self.close_connection = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def _closed(connection: socket.socket) -> bool:
    """Whether the peer has gone: readable with nothing to read is the end of its stream."""
    if not select.select([connection], [], [], 0)[0]:
        return False
    try:
        return connection.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True
