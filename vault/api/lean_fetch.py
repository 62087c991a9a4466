"""The agency's plain download, answered before the middleware stack and FastAPI's routing.

Measured under sixteen agency clients, most of a download's CPU went to the layers around the
route (middleware, routing, dependencies, a second thread hop to close the session), not to
the work. This layer, the outermost of the application's own, serves the common case: a GET
without a query string, by an agency bearer token that authenticates, through a grant that
serves the paper as stored. It does what the route (vault.api.agency.fetch_shared_document)
does, with the same functions: the bearer token's check, the grant check, use count and
audit append in one round trip (vault.sharing.access.fetch_checked), the same response
(vault.api.downloads) and the same request metrics (vault.api.observed.Tally), in one worker
thread hop. Whose token it is comes from memory once the token has authenticated here
(vault.agencies.Bearers); that it still holds is checked in that round trip, each time.
Anything else passes on untouched to the application, which refuses, names and audits it as
it always has: here nothing was written for it. The route stays where it is, so /openapi.json
describes this path as before.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import anyio.to_thread
from sqlmodel import Session
from starlette.datastructures import State
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from vault import agencies, crypto
from vault.api.downloads import delivery_response
from vault.api.observed import Tally
from vault.sharing import access

ROUTE = "/api/v1/shared/{token}/documents/{document_id}/content"
# As the router matches the route's path parameters: anything but a slash.
_PATH = re.compile("^" + re.sub(r"\{\w+\}", "([^/]+)", ROUTE) + "$")


class LeanFetch:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.bearers = agencies.Bearers()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        wanted = _wanted(scope)
        if wanted is None:
            await self.app(scope, receive, send)
            return
        tally = Tally(receive, send)
        try:
            served = await _serve(scope, tally, self.bearers, *wanted)
        except BaseException:
            tally.record(ROUTE, "GET")
            raise
        if served:
            tally.record(ROUTE, "GET")
        else:
            await self.app(scope, receive, send)


def _wanted(scope: Scope) -> tuple[str, str, uuid.UUID] | None:
    """(bearer token, share token, paper) of a request this layer may answer."""
    if scope["type"] != "http" or scope["method"] != "GET" or scope["query_string"]:
        return None
    match = _PATH.match(scope["path"][len(scope.get("root_path", "")) :])
    if match is None:
        return None
    authorization = next((v for k, v in scope["headers"] if k == b"authorization"), b"")
    scheme, _, bearer = authorization.decode("latin-1").partition(" ")
    if scheme.lower() != "bearer" or not bearer:
        return None
    try:
        document_id = uuid.UUID(match[2])
    except ValueError:  # the route answers a malformed id with its 422
        return None
    # Only the canonical spelling: the route's validator decides on any other.
    return (bearer, match[1], document_id) if str(document_id) == match[2] else None


async def _serve(
    scope: Scope,
    tally: Tally,
    bearers: agencies.Bearers,
    bearer: str,
    token: str,
    document_id: uuid.UUID,
) -> bool:
    """Whether the request was answered; False, having sent and written nothing, to leave it
    to the route."""
    app = scope["app"]
    request = Request(scope)
    response: Response | None
    try:
        response = await anyio.to_thread.run_sync(
            _checked, app.state, bearers, request, bearer, token, document_id
        )
        if response is None:
            return False
    except Exception as error:
        # As the route's would be: rendered by the application's handler for it (a store or
        # database outage, a paper failing its check); the rest by the server's error layer.
        handler = _handler(app.exception_handlers, error)
        if handler is None:
            raise
        response = await handler(request, error)
    await response(scope, tally.receive, tally.send)
    return True


def _handler(handlers: dict[Any, Any], error: Exception) -> Any:
    """The application's own handler for `error`'s class or its nearest base, short of the
    catch-all (the server's error layer calls that one, and logs the error)."""
    return next(
        (handlers[c] for c in type(error).__mro__ if c in handlers and c is not Exception), None
    )


def _checked(
    state: State,
    bearers: agencies.Bearers,
    request: Request,
    bearer: str,
    token: str,
    document_id: uuid.UUID,
) -> Response | None:
    """In a worker thread, as the route runs: the checked download, the bearer token checked
    with it, and its response, whose first chunk is read and verified here; None when the
    token or the grant does not hold."""
    bearer_hash = crypto.hash_token(bearer)
    agency_id = bearers.agency_of(state.engine, bearer_hash)
    if agency_id is None:
        return None
    # Only a citizen key no longer in memory is read through this session, after the download
    # has committed in its batch, and nothing is written through it: closed, never committed.
    with Session(state.engine) as session:
        delivery = access.fetch_checked(
            session,
            state.backend,
            agency_id=agency_id,
            actor=("agency", str(agency_id)),  # as vault.sharing.access.Accessor names a system
            token=token,
            document_id=document_id,
            end_read=_nothing_read,
            bearer_hash=bearer_hash,
        )
    return None if delivery is None else delivery_response(request, delivery)


def _nothing_read() -> None:
    """The download's session has read nothing before it is counted: no transaction to end."""
