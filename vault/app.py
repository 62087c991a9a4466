"""The FastAPI application: the JSON API (and later the web pages) over the same services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from vault import api, db
from vault.api import redaction
from vault.bootstrap import build_backend
from vault.settings import Settings


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.backend.sandbox.warm()
    yield
    app.state.engine.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = FastAPI(
        title="Citizen document vault",
        summary="Kho dữ liệu điện tử của công dân: papers kept once, encrypted, shared by grant.",
        version="0.1.0",
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.engine = db.make_engine(settings.resolved_database_url)
    app.state.backend = build_backend(settings)
    redaction.install()
    api.add_error_handlers(app)
    app.include_router(api.router)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return app
