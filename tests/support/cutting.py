"""A TCP proxy on the loopback that cuts every connection after it has carried a number of bytes
towards the server, as a phone losing signal does, and may carry them slowly (a phone's uplink),
so that a browser test can act while an upload is half-way."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field


@dataclass
class CuttingProxy:
    upstream: int
    cut_after: int
    rate: float | None = None  # bytes a second towards the server, per connection
    port: int = 0
    cuts: int = 0
    connections: int = 0
    _listener: socket.socket | None = None
    _stopped: threading.Event = field(default_factory=threading.Event)
    _open: set[socket.socket] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        listener.settimeout(0.2)
        self._listener, self.port = listener, listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def stop(self) -> None:
        self._stopped.set()
        if self._listener is not None:
            self._listener.close()
        with self._lock:
            for sock in list(self._open):
                _close(sock)

    def _accept(self) -> None:
        assert self._listener is not None
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            try:
                server = socket.create_connection(("127.0.0.1", self.upstream), timeout=10)
            except OSError:
                _close(client)
                continue
            server.settimeout(None)
            client.settimeout(None)
            with self._lock:
                self.connections += 1
                self._open |= {client, server}
            threading.Thread(target=self._forward, args=(client, server, True), daemon=True).start()
            threading.Thread(
                target=self._forward, args=(server, client, False), daemon=True
            ).start()

    def _forward(self, source: socket.socket, sink: socket.socket, upward: bool) -> None:
        carried = 0
        try:
            while True:
                data = source.recv(16 << 10 if self.rate else 64 << 10)
                if not data:
                    break
                if upward and carried + len(data) > self.cut_after:
                    sink.sendall(data[: self.cut_after - carried])
                    with self._lock:
                        self.cuts += 1
                    break
                sink.sendall(data)
                carried += len(data)
                if upward and self.rate:
                    time.sleep(len(data) / self.rate)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                _close(sock)
                with self._lock:
                    self._open.discard(sock)


def _close(sock: socket.socket) -> None:
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with suppress(OSError):
        sock.close()


@contextmanager
def cutting_proxy(
    upstream: int, cut_after: int = 2 << 20, rate: float | None = None
) -> Iterator[CuttingProxy]:
    proxy = CuttingProxy(upstream, cut_after, rate)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()
