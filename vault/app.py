"""The FastAPI application: the JSON API and the web pages, over the same services."""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import CollectorRegistry

from vault import api, db, web
from vault.api import contract, health, redaction, uploads
from vault.api.bodies import BodyLimit
from vault.api.lean_fetch import LeanFetch
from vault.api.observed import Observed
from vault.audit import metrics as audit_metrics
from vault.bootstrap import build_backend, keep_files_private
from vault.dossiers.stats import ReuseCollector
from vault.jobs import embedded, runner
from vault.jobs.metrics import JobsCollector
from vault.jobs.retries import Tally
from vault.jobs.work import Work
from vault.kit import lifeline, metrics, rate
from vault.settings import Settings


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # A server worker whose supervisor was killed stops as if told to: it finishes what it
    # serves within the grace period instead of serving on, unsupervised, for ever.
    lifeline.follow_supervisor(lambda: os.kill(os.getpid(), signal.SIGTERM))
    app.state.backend.sandbox.warm()
    jobs = _start_jobs(app)
    yield
    if jobs is not None:
        embedded.stop(jobs)
    # Lets a paper being decoded finish; the workers end with this process anyway.
    app.state.backend.sandbox.close()
    app.state.engine.dispose()


def _start_jobs(app: FastAPI) -> embedded.InProcess | None:
    """On the embedded default the server runs the job queue itself: nothing else to start."""
    settings: Settings = app.state.settings
    if runner.on_postgres(settings) or not settings.serve_runs_jobs:
        return None
    backend = app.state.backend
    work = Work.from_settings(
        settings, engine=app.state.engine, keyring=backend.keyring, store=backend.store
    )
    huey = embedded.build(work, runner.sqlite_file(settings), Tally(), periodic=True)
    return embedded.start(huey, workers=2)


def create_app(settings: Settings | None = None) -> FastAPI:
    keep_files_private()
    settings = settings or Settings()
    app = FastAPI(
        title="Citizen document vault",
        summary="Kho dữ liệu điện tử của công dân: papers kept once, encrypted, shared by grant.",
        version="0.1.0",
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.engine = db.make_engine(settings.resolved_database_url)
    app.state.backend = backend = build_backend(settings, app.state.engine)
    app.state.readiness = health.checks(app.state.engine, backend.store, backend.keyring)
    # Refused agency requests are audited one by one up to this rate per client address.
    app.state.anonymous_budget = rate.Budget(settings.anonymous_per_minute, 60)
    redaction.install()
    api.add_error_handlers(app)
    app.include_router(api.router)
    contract.publish(app)
    app.include_router(health.router)
    web.install(app)
    app.add_middleware(uploads.TusHeaders)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(Observed)
    # Added last, so outermost: the agency's plain download is answered before the rest.
    app.add_middleware(LeanFetch)
    audit_metrics.install()

    from_database = CollectorRegistry()
    from_database.register(ReuseCollector(app.state.engine))
    from_database.register(JobsCollector(app.state.engine, settings))

    @app.get("/metrics", include_in_schema=False)
    def read_metrics() -> Response:
        """Prometheus exposition: requests, bodies, logins, audited outcomes and failures of
        the parts the vault depends on (every worker's, under --workers N), then what the
        database says at this scrape: reuse figures, the job queue, the notices' deliveries."""
        return Response(metrics.exposition(from_database), media_type=metrics.CONTENT_TYPE_LATEST)

    return app
