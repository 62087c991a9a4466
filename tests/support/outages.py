"""Outages caused for real. A store's server process frozen (SIGSTOP: the kernel still takes
connections and requests, nothing answers) or killed, found by the port it listens on so that
this works on whichever helper started it; or the link to a shared server (PostgreSQL, which
other tests use) frozen in a relay of the test's own."""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psutil


def serving(endpoint: str) -> psutil.Process:
    port = int(endpoint.rsplit(":", 1)[1])
    for connection in psutil.net_connections(kind="tcp"):
        if (
            connection.status == psutil.CONN_LISTEN
            and connection.laddr
            and connection.laddr.port == port
            and connection.pid
        ):
            return psutil.Process(connection.pid)
    raise LookupError(f"no process listens on {endpoint}")


@contextmanager
def frozen(endpoint: str) -> Iterator[None]:
    process = serving(endpoint)
    process.suspend()
    try:
        yield
    finally:
        process.resume()


class Relay:
    """A TCP relay in front of a real server, so that a test can freeze the link to it: the
    relay goes on taking connections and bytes, and passes nothing on until thawed, as a
    server that hangs or a network that drops every packet looks to its client."""

    def __init__(self, target: str) -> None:
        host, port = target.rsplit(":", 1)
        self._target = (host, int(port))
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.endpoint = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self._flowing = threading.Event()
        self._flowing.set()
        self._closed = threading.Event()
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, name="relay", daemon=True).start()

    def freeze(self) -> None:
        self._flowing.clear()

    def thaw(self) -> None:
        self._flowing.set()

    def close(self) -> None:
        self._closed.set()
        self._flowing.set()
        self._listener.close()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self._target)
            self._sockets += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        while not self._closed.is_set():
            self._flowing.wait()
            try:
                if not select.select([source], [], [], 0.1)[0]:
                    continue
                if not self._flowing.is_set():
                    continue
                data = source.recv(1 << 16)
                if not data:
                    break
                sink.sendall(data)
            except OSError:
                break
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


@contextmanager
def relayed(target: str) -> Iterator[Relay]:
    relay = Relay(target)
    try:
        yield relay
    finally:
        relay.close()
