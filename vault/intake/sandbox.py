"""Hostile files are decoded in worker processes with a memory cap and a time limit: an image
bomb or a crafted page that exhausts memory, loops or crashes a decoder ends a worker, not the
server, and the citizen gets a clear refusal."""

from __future__ import annotations

import multiprocessing
import resource
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from vault.errors import CorruptFile, ImageBomb

T = TypeVar("T")
_PRELOAD = ["vault.intake.images", "vault.intake.pdfs", "pypdfium2"]


def _limit_memory(limit: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


class Sandbox:
    def __init__(self, *, workers: int = 2, memory_limit: int = 3 << 30, timeout: float = 120.0):
        self._workers = workers
        self._memory_limit = memory_limit
        self._timeout = timeout
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None

    def run(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        future = self._executor().submit(function, *args, **kwargs)
        try:
            return future.result(timeout=self._timeout)
        except FutureTimeout:
            self._discard()
            raise CorruptFile("This file took too long to process; it may be damaged.") from None
        except BrokenProcessPool:
            self._discard()
            raise CorruptFile("This file could not be processed safely.") from None
        except MemoryError:
            raise ImageBomb("This file needs more memory to open than the vault allows.") from None

    def warm(self) -> None:
        """Start the workers now, so the first upload does not wait for them."""
        pool = self._executor()
        for _ in range(self._workers):
            pool.submit(int)

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                context = multiprocessing.get_context("forkserver")
                context.set_forkserver_preload(_PRELOAD)
                self._pool = ProcessPoolExecutor(
                    self._workers,
                    mp_context=context,
                    initializer=_limit_memory,
                    initargs=(self._memory_limit,),
                )
            return self._pool

    def _discard(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            # The stuck or dead worker must go; Python 3.11 has no public way to kill one.
            for process in list(getattr(pool, "_processes", {}).values()):
                process.kill()
            pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


_shared: Sandbox | None = None


def shared() -> Sandbox:
    """One pool per server process, shared by every app built in it."""
    global _shared
    if _shared is None:
        _shared = Sandbox()
    return _shared
