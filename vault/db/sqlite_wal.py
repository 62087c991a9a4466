"""Truncating SQLite's write-ahead log after a shredding commit, off the request path.

`secure_delete` zeroes deleted rows in the database file, but the WAL keeps older images of
those pages until a checkpoint truncates it. A checkpoint cannot finish while a reader still
uses the log, and waiting for one inside a request would stall it, so one thread per
database retries briefly, as often as needed, until the log is empty, and says so when it
cannot get there.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
import weakref
from typing import Any

log = logging.getLogger(__name__)
_ATTEMPT_WAIT_MS = 200
_RETRY_SECONDS = (0.05, 0.1, 0.25, 0.5, 1.0)
_WARN_AFTER_SECONDS = 60.0
_IDLE_SECONDS = 10.0


class Truncator:
    def __init__(self, path: str) -> None:
        self._path = path
        self._changed = threading.Condition()
        self._asked = 0
        self._done = 0
        self._thread: threading.Thread | None = None

    def ask(self) -> None:
        with self._changed:
            self._asked += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="wal-truncate", daemon=True)
                self._thread.start()
            self._changed.notify_all()

    def wait(self, timeout: float) -> bool:
        """Whether every truncation asked for so far has happened, within `timeout`."""
        with self._changed:
            target = self._asked
            return self._changed.wait_for(lambda: self._done >= target, timeout)

    def _run(self) -> None:
        while True:
            with self._changed:
                if not self._changed.wait_for(lambda: self._asked > self._done, _IDLE_SECONDS):
                    self._thread = None
                    return
                target = self._asked
            self._truncate()
            with self._changed:
                self._done = target
                self._changed.notify_all()

    def _truncate(self) -> None:
        began, tries, warned = time.monotonic(), 0, False
        while not self._checkpoint():
            waited = time.monotonic() - began
            if waited > _WARN_AFTER_SECONDS and not warned:
                log.warning(
                    "the SQLite WAL still holds deleted rows after %.0f s of readers", waited
                )
                warned = True
            time.sleep(_RETRY_SECONDS[min(tries, len(_RETRY_SECONDS) - 1)])
            tries += 1
        if warned:
            log.warning("the SQLite WAL is truncated at last")

    def _checkpoint(self) -> bool:
        try:
            connection = sqlite3.connect(self._path, timeout=_ATTEMPT_WAIT_MS / 1000)
        except sqlite3.Error:
            log.exception("cannot open the database to truncate its WAL")
            return False
        try:
            busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            return bool(busy == 0)
        except sqlite3.OperationalError:
            return False
        finally:
            connection.close()


_truncators: weakref.WeakKeyDictionary[Any, Truncator] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _for(engine: Any) -> Truncator | None:
    path = engine.url.database
    if not path or path == ":memory:":
        return None
    with _lock:
        # Keyed by the pool: an engine with other execution options shares it.
        truncator = _truncators.get(engine.pool)
        if truncator is None:
            truncator = _truncators[engine.pool] = Truncator(path)
        return truncator


def truncate_soon(engine: Any) -> None:
    truncator = _for(engine)
    if truncator is not None:
        truncator.ask()


def wait(engine: Any, timeout: float = 30.0) -> bool:
    """Whether the deleted rows have left the WAL (what the tests wait on)."""
    truncator = _for(engine)
    return truncator is None or truncator.wait(timeout)
