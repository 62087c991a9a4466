"""A store's outage caused for real: the server process behind an endpoint frozen (SIGSTOP: the
kernel still takes connections and requests, nothing answers) or killed. The process is found by
the port it listens on, so this works on whichever helper started it."""

from __future__ import annotations

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
