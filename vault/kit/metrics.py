"""The process's Prometheus instruments, and their exposition.

Counted where the thing happens (a login refused, a store unreachable), exposed by /metrics.
Under `vault serve --workers N` each worker process writes its samples to files in
PROMETHEUS_MULTIPROC_DIR (set by `vault serve` before the workers start) and any worker's
/metrics sums them all: a scrape that lands on one worker still sees every request."""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

__all__ = ["CONTENT_TYPE_LATEST", "exposition"]

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Seconds: from a cached thumbnail (a few ms) to a 1 GiB upload on a slow link.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)

REQUESTS = Counter(
    "vault_http_requests",
    "HTTP requests answered, by route template, method and status",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "vault_http_request_duration_seconds",
    "Time to answer an HTTP request (to the end of its body), by route template and method",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
)
BODY_BYTES = Counter(
    "vault_http_body_bytes",
    "Bytes of HTTP bodies: in (uploads, forms) and out (papers, pages)",
    ["direction"],
)
LOGINS = Counter(
    "vault_logins",
    "Login attempts by outcome (success, failure, throttled: refused before the password "
    "was looked at)",
    ["outcome"],
)
LOCKOUTS = Counter(
    "vault_login_lockouts", "Accounts or client addresses blocked after too many failures"
)
BACKEND_ERRORS = Counter(
    "vault_backend_errors",
    "Requests refused because a part the vault depends on failed "
    "(store, database, keys, integrity: a stored paper failed its check)",
    ["part"],
)


def exposition(*extra: CollectorRegistry) -> bytes:
    """The text format of this process's (or, multiprocess, every worker's) instruments,
    followed by the registries given (collectors that read the database at each scrape)."""
    path = os.environ.get(MULTIPROC_ENV)
    if path:
        own = CollectorRegistry()
        multiprocess.MultiProcessCollector(own, path=path)  # type: ignore[no-untyped-call]
    else:
        own = REGISTRY
    return b"".join(generate_latest(registry) for registry in (own, *extra))
