"""The agency's plain download, answered before the middleware stack and FastAPI's routing.

Measured under sixteen agency clients, most of a download's CPU went to the layers around the
route (middleware, routing, dependencies, a second thread hop to close the session), not to
the work. This layer, the outermost of the application's own, serves the common case: a GET
without a query string, by an agency bearer token that authenticates, through a grant that
serves the paper as stored. It does what the route (vault.api.agency.fetch_shared_document)
does, with the same functions: the bearer token's check, the grant check, use count and
audit append in one round trip (vault.sharing.access.fetch_checked_all), the same response
(vault.api.downloads) and the same request metrics (vault.api.observed.Tally). Whose token it
is comes from memory once the token has authenticated here (vault.agencies.Bearers); that it
still holds is checked in that round trip, each time.

The downloads arriving together are answered together (_Batches): one worker thread checks,
counts and opens them all, in one hop from the event loop and back, while the next ones
gather. A thread per download, as the route has, spent more of each download's CPU on
handing the GIL and the batch's lead between threads than on the download itself, and made
every download wait for the batch leader's turns at the GIL.
Anything else passes on untouched to the application, which refuses, names and audits it as
it always has: here nothing was written for it. The route stays where it is, so /openapi.json
describes this path as before.
"""

from __future__ import annotations

import asyncio
import contextvars
import copy
import re
import uuid
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
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
from vault.sharing import access, checked

ROUTE = "/api/v1/shared/{token}/documents/{document_id}/content"
# As the router matches the route's path parameters: anything but a slash.
_PATH = re.compile("^" + re.sub(r"\{\w+\}", "([^/]+)", ROUTE) + "$")
_MAX_BATCH = 64


class LeanFetch:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.batches = _Batches()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        wanted = _wanted(scope)
        if wanted is None:
            await self.app(scope, receive, send)
            return
        tally = Tally(receive, send)
        try:
            served = await _serve(scope, tally, self.batches, *wanted)
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
    batches: _Batches,
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
        response = await batches.answer(app.state, _Wanted(request, bearer, token, document_id))
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


@dataclass(frozen=True)
class _Wanted:
    request: Request
    bearer: str
    token: str
    document_id: uuid.UUID


class _Batches:
    """The downloads waiting on each event loop, answered a batch at a time by a task of the
    loop's own, which starts the next batch as soon as one is answered: the worker thread is
    kept busy while the loop sends the answers. (A request leading its batch, as
    vault.db.group_commit's threads do, measured 25 % fewer downloads a second: the next
    batch waited for the loop to send every answer first.)"""

    def __init__(self) -> None:
        self.bearers = agencies.Bearers()
        # A server has one loop; a test client may run one per request, or several at once.
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Queue] = (
            weakref.WeakKeyDictionary()
        )

    async def answer(self, state: State, wanted: _Wanted) -> Response | None:
        loop = asyncio.get_running_loop()
        queue = self._loops.setdefault(loop, _Queue())
        answered: asyncio.Future[Response | None] = loop.create_future()
        queue.waiting.append((wanted, answered))
        if queue.drainer is None or queue.drainer.done():
            # In a context of its own: nothing of the request that happened to start it.
            queue.drainer = loop.create_task(
                self._drain(state, queue), context=contextvars.Context()
            )
        return await answered  # a request cancelled meanwhile cancels its place too

    async def _drain(self, state: State, queue: _Queue) -> None:
        batch: list[tuple[_Wanted, asyncio.Future[Response | None]]] = []
        try:
            while queue.waiting:
                taken, queue.waiting = queue.waiting[:_MAX_BATCH], queue.waiting[_MAX_BATCH:]
                batch = [item for item in taken if not item[1].done()]
                if not batch:
                    continue
                wanted = [item[0] for item in batch]
                try:
                    outcomes = await anyio.to_thread.run_sync(
                        _checked_all, state, self.bearers, wanted
                    )
                except Exception as error:
                    outcomes = [copy.copy(error) for _ in batch]
                for (_, answered), outcome in zip(batch, outcomes, strict=True):
                    if answered.done():
                        continue
                    if isinstance(outcome, Exception):
                        answered.set_exception(outcome)
                    else:
                        answered.set_result(outcome)
        finally:  # cancelled (the loop going away): nobody is left waiting
            for _, answered in [*batch, *queue.waiting]:
                if not answered.done():
                    answered.set_exception(RuntimeError("the download could not be answered"))


@dataclass(eq=False)
class _Queue:
    waiting: list[tuple[_Wanted, asyncio.Future[Response | None]]] = field(default_factory=list)
    drainer: asyncio.Task[None] | None = None


def _handler(handlers: dict[Any, Any], error: Exception) -> Any:
    """The application's own handler for `error`'s class or its nearest base, short of the
    catch-all (the server's error layer calls that one, and logs the error)."""
    return next(
        (handlers[c] for c in type(error).__mro__ if c in handlers and c is not Exception), None
    )


def _checked_all(
    state: State, bearers: agencies.Bearers, wanted: Sequence[_Wanted]
) -> list[Response | None | Exception]:
    """In a worker thread, as the route runs: the checked downloads, each bearer token checked
    with them, and their responses, whose first chunks are read and verified here; None where
    the token or the grant does not hold, to leave the request to the route."""
    outcomes: list[Response | None | Exception] = [None] * len(wanted)
    asked: dict[int, checked.Asked] = {}
    for place, one in enumerate(wanted):
        bearer_hash = crypto.hash_token(one.bearer)
        try:
            agency_id = bearers.agency_of(state.engine, bearer_hash)
        except Exception as error:
            outcomes[place] = error
            continue
        if agency_id is not None:
            # The actor as vault.sharing.access.Accessor names a system.
            actor = ("agency", str(agency_id))
            asked[place] = checked.Asked(
                one.token, agency_id, actor, one.document_id, bearer_hash=bearer_hash
            )
    # Only a citizen key no longer in memory is read through this session, after the downloads
    # have committed, and nothing is written through it: closed, never committed.
    with Session(state.engine) as session:
        deliveries = access.fetch_checked_all(session, state.backend, list(asked.values()))
    for place, delivery in zip(asked, deliveries, strict=True):
        if delivery is None or isinstance(delivery, Exception):
            outcomes[place] = delivery
            continue
        try:
            outcomes[place] = delivery_response(wanted[place].request, delivery)
        except Exception as error:
            outcomes[place] = error
    return outcomes
