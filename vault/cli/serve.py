"""`vault serve`: prepare the data directory, key and schema, then serve the API and pages."""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from vault import bootstrap
from vault.cli.common import load_settings, operator_errors
from vault.kit import metrics
from vault.settings import Settings, public_url_for

# uvicorn's default of 5 s is less than a worker can take to import the app on a loaded host;
# the supervisor then kills the starting worker and starts another, over and over.
WORKER_HEALTHCHECK_SECONDS = 30


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """Prepare the data directory, key and schema, then serve the vault."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    with operator_errors():
        settings = load_settings()
        bootstrap.prepare(settings)
    if "public_url" not in settings.model_fields_set:
        # The workers build their settings from the environment, which they inherit.
        os.environ["VAULT_PUBLIC_URL"] = public_url_for(host, port)
    with _metrics_shared(workers):
        _run(uvicorn, settings, host, port, workers)


def _run(uvicorn: Any, settings: Settings, host: str, port: int, workers: int) -> None:
    uvicorn.run(
        "vault.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        server_header=False,
        # Past the grace period, requests still running (a stuck store call, a client that
        # sends for ever) are cancelled rather than waited for.
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
    )


@contextmanager
def _metrics_shared(workers: int) -> Iterator[None]:
    """With several workers, each writes its samples to files in one directory that any
    worker's /metrics sums: set here, before the workers start, and emptied at each start (a
    previous run's files would add old counts). An operator's own directory is used as given."""
    given = os.environ.get(metrics.MULTIPROC_ENV)
    if workers <= 1 and not given:
        yield
        return
    if given:
        for stale in Path(given).glob("*.db"):
            stale.unlink()
        yield
        return
    with tempfile.TemporaryDirectory(prefix="vault-metrics-") as shared:
        os.environ[metrics.MULTIPROC_ENV] = shared
        try:
            yield
        finally:
            del os.environ[metrics.MULTIPROC_ENV]
