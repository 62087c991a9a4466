"""Liveness and readiness, for the orchestrator rather than for people (outside the schema).

/healthz says only that the process serves: restarting a vault because its database is down
would not bring the database back. /readyz says whether a request could be served now, naming
each part that is down, so traffic goes elsewhere until it is back.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, wait

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine

from storage import BlobStore
from vault import db
from vault.api.errors import problem
from vault.keys import Keyring

log = logging.getLogger("vault.health")
router = APIRouter(include_in_schema=False)

# A probe must answer before the orchestrator's own timeout (commonly 1 to 5 s), whatever
# the parts do: a frozen store or database is down, not slow.
DEADLINE = 2.0


class Readiness:
    """Each check runs in a thread of its own and is waited for up to DEADLINE. A check still
    running when the next probe comes is waited on again rather than started twice, so a part
    that hangs holds one thread, not one per probe."""

    def __init__(self, checks: dict[str, Callable[[], None]], deadline: float = DEADLINE):
        self._checks = checks
        self._deadline = deadline
        self._lock = threading.Lock()
        self._running: dict[str, Future[None]] = {}
        self._down: set[str] = set()

    def probe(self) -> dict[str, str]:
        """Every part's state: "up", "down" or "no answer"."""
        futures = {name: self._start(name, check) for name, check in self._checks.items()}
        wait(futures.values(), timeout=self._deadline)
        states = {name: _state(future) for name, future in futures.items()}
        self._log_changes(states, futures)
        return states

    def _start(self, name: str, check: Callable[[], None]) -> Future[None]:
        with self._lock:
            running = self._running.get(name)
            if running is not None and not running.done():
                return running
            future: Future[None] = Future()
            self._running[name] = future
        threading.Thread(
            target=_settle, args=(future, check), name=f"readyz-{name}", daemon=True
        ).start()
        return future

    def _log_changes(self, states: dict[str, str], futures: dict[str, Future[None]]) -> None:
        """Once per change, not once per probe: an orchestrator probes every few seconds."""
        with self._lock:
            down = {name for name, state in states.items() if state != "up"}
            for name in sorted(down - self._down):
                log.warning("readiness: %s is %s%s", name, states[name], _reason(futures[name]))
            for name in sorted(self._down - down):
                log.info("readiness: %s is up again", name)
            self._down = down


def _settle(future: Future[None], check: Callable[[], None]) -> None:
    try:
        check()
    except Exception as error:  # noqa: BLE001 - whatever fails, the part is down
        future.set_exception(error)
    else:
        future.set_result(None)


def _reason(future: Future[None]) -> str:
    error = future.exception() if future.done() else None
    if error is None:
        return ""
    first_line = (str(error).splitlines() or [""])[0][:200]
    return f" ({type(error).__name__}: {first_line})"


def _state(future: Future[None]) -> str:
    if not future.done():
        return "no answer"
    return "down" if future.exception() is not None else "up"


def checks(engine: Engine, store: BlobStore, keyring: Keyring) -> Readiness:
    def database() -> None:
        with db.unit_of_work(engine, writes=False) as session:
            keyring.read_checks(session)

    return Readiness({"database": database, "store": store.check, "keys": keyring.check})


@router.get("/healthz")
def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"})


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    readiness: Readiness = request.app.state.readiness
    states = await anyio.to_thread.run_sync(readiness.probe)
    down = [name for name, state in states.items() if state != "up"]
    if not down:
        return JSONResponse({"status": "ready", "checks": states})
    return problem(
        503,
        f"Not ready: {', '.join(f'{name} is {states[name]}' for name in down)}.",
        kind="not-ready",
        headers={"Retry-After": "5"},
        down=down,
        checks=states,
    )
