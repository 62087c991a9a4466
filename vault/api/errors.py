"""Every refusal as RFC 9457 problem details (application/problem+json), from one table."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from storage import BlobNotFound, StoreUnavailable
from vault import db
from vault.api import methods
from vault.api.redaction import redact
from vault.crypto import IntegrityError, MasterKeyError
from vault.documents import sweep
from vault.kit import errors, metrics

log = logging.getLogger("vault.api")

STATUS_CODES: dict[type[errors.VaultError], int] = {
    errors.NotFound: status.HTTP_404_NOT_FOUND,
    errors.Conflict: status.HTTP_409_CONFLICT,
    errors.InvalidInput: status.HTTP_422_UNPROCESSABLE_CONTENT,
    errors.UnsupportedFile: status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    errors.FileTooLarge: status.HTTP_413_CONTENT_TOO_LARGE,
    errors.CorruptFile: status.HTTP_422_UNPROCESSABLE_CONTENT,
    errors.ImageBomb: status.HTTP_422_UNPROCESSABLE_CONTENT,
    errors.ActiveContent: status.HTTP_422_UNPROCESSABLE_CONTENT,
    errors.AuthenticationFailed: status.HTTP_401_UNAUTHORIZED,
    errors.TooManyAttempts: status.HTTP_429_TOO_MANY_REQUESTS,
    errors.UnsupportedGrantType: status.HTTP_400_BAD_REQUEST,
    errors.Forbidden: status.HTTP_403_FORBIDDEN,
    errors.Gone: status.HTTP_410_GONE,
    errors.TooManyUploads: status.HTTP_429_TOO_MANY_REQUESTS,
    errors.ChecksumMismatch: 460,  # tus 1.0.0, checksum extension
    errors.UnsupportedProtocol: status.HTTP_412_PRECONDITION_FAILED,
    errors.MalformedRequest: status.HTTP_400_BAD_REQUEST,
    errors.WrongContentType: status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
}
TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    410: "Gone",
    412: "Precondition failed",
    413: "Content too large",
    415: "Unsupported media type",
    416: "Range not satisfiable",
    422: "Unprocessable content",
    429: "Too many requests",
    460: "Checksum mismatch",
    500: "Internal server error",
    503: "Service unavailable",
}


def slug(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def problem(
    status_code: int,
    detail: str,
    *,
    kind: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = {
        "type": f"/problems/{kind}" if kind else "about:blank",
        "title": TITLES.get(status_code, "Error"),
        "status": status_code,
        "detail": detail,
        **extra,
    }
    return JSONResponse(body, status_code, headers=headers, media_type="application/problem+json")


async def _vault_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, errors.VaultError)
    code = next(
        (s for cls, s in STATUS_CODES.items() if isinstance(error, cls)),
        status.HTTP_400_BAD_REQUEST,
    )
    extra: dict[str, Any] = {}
    headers = {}
    if isinstance(error, errors.InvalidInput) and error.field:
        extra["field"] = error.field
    if isinstance(error, errors.TooManyAttempts):
        headers["Retry-After"] = str(error.retry_after)
    if isinstance(error, errors.AuthenticationFailed):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(error, errors.Gone):
        extra["reason"] = error.reason
    if isinstance(error, errors.UnsupportedProtocol):
        headers["Tus-Version"] = "1.0.0"
    if isinstance(error, errors.UnsupportedGrantType):
        extra["error"] = "unsupported_grant_type"
    extra |= error.members
    return problem(code, error.detail, kind=slug(type(error).__name__), headers=headers, **extra)


async def _validation_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    if any(issue.get("type") == "json_invalid" for issue in error.errors()):
        return _invalid_json()
    # Only where and what: never echo the input back (it may be a password).
    issues = [
        {
            "loc": list(issue.get("loc", ())),
            "msg": issue.get("msg", ""),
            "type": issue.get("type", ""),
        }
        for issue in error.errors()
    ]
    # The one input at fault, named as the service's own refusals name it.
    named = {str(i["loc"][1]) if len(i["loc"]) > 1 else "" for i in issues}
    extra: dict[str, Any] = {"field": named.pop()} if len(named) == 1 and "" not in named else {}
    return problem(422, "The request is not valid.", kind="invalid-input", errors=issues, **extra)


def http_error_headers(request: Request, error: HTTPException) -> dict[str, str]:
    headers = dict(error.headers or {})
    if error.status_code == status.HTTP_405_METHOD_NOT_ALLOWED:
        headers["Allow"] = methods.allowed(request)
    return headers


def _invalid_json() -> JSONResponse:
    return problem(400, "The request body is not valid JSON.", kind="invalid-json")


def _sent_json(request: Request) -> bool:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return kind == "application/json" or kind.endswith("+json")


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    if error.status_code == status.HTTP_400_BAD_REQUEST and _sent_json(request):
        # FastAPI's answer to a body its JSON reader gave up on other than by a decoding
        # error (nesting too deep for the parser, say).
        return _invalid_json()
    kind = {401: "authentication-failed", 404: "not-found", 413: "body-too-large"}.get(
        error.status_code
    )
    headers = http_error_headers(request, error)
    return problem(error.status_code, str(error.detail), kind=kind, headers=headers)


def count_failure(error: Exception) -> None:
    """On /metrics: a request refused because a part the vault depends on failed."""
    if isinstance(error, StoreUnavailable):
        part = "store"
    elif isinstance(error, MasterKeyError):
        part = "keys"
    elif isinstance(error, (IntegrityError, BlobNotFound)):
        part = "integrity"
    elif db.unavailable(error):
        part = "database"
    else:
        return
    metrics.BACKEND_ERRORS.labels(part).inc()


async def _store_unavailable(_request: Request, error: Exception) -> JSONResponse:
    count_failure(error)
    log.error("object store unavailable", exc_info=error)
    return problem(
        503,
        "The document store is not reachable right now; nothing was changed. Try again shortly.",
        kind="store-unavailable",
        headers={"Retry-After": "30"},
    )


async def _database_error(request: Request, error: Exception) -> JSONResponse:
    if not db.unavailable(error):
        raise error  # a bug, not an outage: the 500 handler answers and the traceback is logged
    count_failure(error)
    log.error(
        "database unavailable on %s %s: %s",
        request.method,
        redact(request.url.path),
        _database_failure(error),
    )
    return problem(
        503,
        "The database is not reachable right now. Try again shortly.",
        kind="database-unavailable",
        headers={"Retry-After": "5"},
    )


def _database_failure(error: BaseException) -> str:
    """The kind of failure only: the driver's message may quote the statement."""
    cause = getattr(error, "orig", None)
    return type(error).__name__ + (f" ({type(cause).__name__})" if cause is not None else "")


async def deleted_meanwhile(request: Request, error: Exception) -> bool:
    """A paper deleted between its row being read and its object being opened: the citizen's
    own deletion, not damage. No row names the object any more."""
    if not isinstance(error, BlobNotFound) or not error.key:
        return False
    engine = request.app.state.engine
    named = await run_in_threadpool(sweep.referenced, engine, {error.key})
    return not named


async def _integrity_error(request: Request, error: Exception) -> JSONResponse:
    """A paper that does not authenticate, or whose object has gone from the store."""
    if await deleted_meanwhile(request, error):
        return problem(404, "This paper was deleted while it was being opened.", kind="not-found")
    what = "missing from the store" if isinstance(error, BlobNotFound) else "failed its check"
    count_failure(error)
    log.error("stored paper %s on %s %s", what, request.method, redact(request.url.path))
    return problem(
        500,
        "A stored paper failed its integrity check and was not served. "
        "The operators have been alerted.",
        kind="integrity-failure",
    )


async def _key_error(_request: Request, error: Exception) -> JSONResponse:
    """The key file is missing, unreadable or not the one the data was wrapped under: the
    vault cannot serve until an operator puts it back, which /readyz names."""
    count_failure(error)
    log.error("master key problem: %s", error)
    return problem(
        503,
        "The vault's keys are not available right now; nothing was changed.",
        kind="key-unavailable",
        headers={"Retry-After": "60"},
    )


async def _bad_text(request: Request, error: Exception) -> JSONResponse:
    """JSON may escape a lone surrogate, which Python decodes but nothing can store or encrypt."""
    assert isinstance(error, UnicodeEncodeError)
    if "surrogate" not in error.reason:
        log.error("unexpected encoding error", exc_info=error)
        return await _unexpected(request, error)
    return problem(
        422, "Text must be valid Unicode (a lone surrogate was sent).", kind="invalid-input"
    )


async def _unexpected(_request: Request, _error: Exception) -> JSONResponse:
    """A bug: still a problem document; the server logs the traceback (the error is re-raised
    to it after this response)."""
    return problem(500, "Something went wrong in the vault; nothing was changed.", kind="internal")


def add_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Exception, _unexpected)
    app.add_exception_handler(UnicodeEncodeError, _bad_text)
    app.add_exception_handler(errors.VaultError, _vault_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(StoreUnavailable, _store_unavailable)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(PoolTimeout, _database_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(BlobNotFound, _integrity_error)
    app.add_exception_handler(MasterKeyError, _key_error)
