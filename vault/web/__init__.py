"""Server-rendered pages over the same services as the JSON API: the citizen's pages under `/`
and the agency counter under `/agency`, in Vietnamese with English as a switch."""

from importlib import resources

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from vault.web import (
    assist,
    citizen,
    counter,
    counter_assist,
    dossiers,
    errors,
    family,
    notifications,
    papers,
    recovery,
    shares,
)


def install(app: FastAPI) -> None:
    static = StaticFiles(directory=str(resources.files("vault.web").joinpath("static")))
    app.mount("/static", static, name="static")
    # The resumable uploads' API takes the pages' session too (with their CSRF token).
    app.state.page_citizen = citizen.page_citizen
    app.include_router(counter.router)
    app.include_router(counter_assist.router)
    app.include_router(citizen.router)
    app.include_router(papers.router)
    app.include_router(shares.router)
    app.include_router(dossiers.router)
    app.include_router(notifications.router)
    app.include_router(assist.router)
    app.include_router(recovery.router)
    app.include_router(family.router)
    errors.install(app)
