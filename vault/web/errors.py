"""Refusals on pages: the same situations the API reports, told in the page's language, with
the way back. The transaction has already been rolled back when these render."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException

from storage import BlobNotFound, StoreUnavailable
from vault import db
from vault.api.errors import (
    STATUS_CODES,
    count_failure,
    deleted_meanwhile,
    http_error_headers,
    slug,
)
from vault.crypto import IntegrityError
from vault.kit import errors
from vault.web import security
from vault.web.pages import messages, redirect, render

_WRAPPED: tuple[type[Exception], ...] = (
    errors.VaultError,
    RequestValidationError,
    HTTPException,
    StoreUnavailable,
    DBAPIError,
    PoolTimeout,
    IntegrityError,
    BlobNotFound,
    Exception,
)


def _is_page(request: Request) -> bool:
    path = request.url.path
    return not (path.startswith("/api/") or path in ("/metrics", "/healthz", "/readyz"))


def _explain(request: Request, error: Exception) -> tuple[int, str, dict[str, Any]]:
    text = messages(request)
    if isinstance(error, errors.VaultError):
        status = next((s for c, s in STATUS_CODES.items() if isinstance(error, c)), 400)
        kind = slug(type(error).__name__)
        # The most specific text there is: by reason (an officer tells the citizen why a share
        # is over; one field refused for different causes), then by field.
        which = (getattr(error, "reason", None), getattr(error, "field", None))
        specific = [f"error.{kind}.{w}" for w in which if w and text.has(f"error.{kind}.{w}")]
        key = specific[0] if specific else f"error.{kind}"
        return status, key, {"detail": error.detail, **error.members}
    if isinstance(error, HTTPException):
        return error.status_code, f"error.http.{error.status_code}", {}
    if isinstance(error, RequestValidationError):
        return 422, "error.invalid-input", {}
    if isinstance(error, StoreUnavailable):
        return 503, "error.store-unavailable", {}
    if db.unavailable(error):
        return 503, "error.database-unavailable", {}
    if isinstance(error, (IntegrityError, BlobNotFound)):
        return 500, "error.integrity-failure", {}
    return 500, "error.internal", {}


def install(app: FastAPI) -> None:
    def wrap(kind: type[Exception], original: Any) -> Any:
        async def handler(request: Request, error: Exception) -> Any:
            if not _is_page(request):
                return await original(request, error)
            if kind in (DBAPIError, PoolTimeout) and not db.unavailable(error):
                raise error  # a bug: the handler of last resort renders it and it is logged
            if await deleted_meanwhile(request, error):
                error = errors.NotFound("This paper was deleted while it was being opened.")
            else:
                count_failure(error)
            status, key, extra = _explain(request, error)
            page = render(request, "error.html", code=status, key=key, status=status, **extra)
            if isinstance(error, HTTPException):
                page.headers.update(http_error_headers(request, error))
            return page

        return handler

    for kind in _WRAPPED:
        original = app.exception_handlers.get(kind)
        if original is not None:
            app.add_exception_handler(kind, wrap(kind, original))

    async def login_required(_request: Request, error: Exception) -> Any:
        assert isinstance(error, security.LoginRequired)
        return redirect(error.to)

    async def csrf_rejected(request: Request, _error: Exception) -> Any:
        return render(request, "error.html", code=403, key="error.csrf", status=403)

    app.add_exception_handler(security.LoginRequired, login_required)
    app.add_exception_handler(security.CsrfRejected, csrf_rejected)
