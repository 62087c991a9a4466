"""Hostile files are decoded in worker processes with a memory cap and a time limit: an image
bomb or a crafted page that exhausts memory, loops or crashes a decoder ends a worker, not the
server, and the citizen gets a clear refusal.

A stored PDF can be a gigabyte, so it is not copied to the worker: the parser there reads it
on demand, over a pipe, from the server's verified view of what was stored (`run_on`).
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import resource
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.connection import Connection
from typing import Any, BinaryIO, TypeVar, cast

from vault.crypto import SizedReader
from vault.kit import lifeline
from vault.kit.errors import CorruptFile, ImageBomb

T = TypeVar("T")
_TOO_LONG = "This file took too long to process; it may be damaged."
# The most one read over the pipe asks for: neither side trusts the other's sizes.
_MAX_READ = 4 << 20


class _TookTooLong(CorruptFile):
    """This file's own time ran out (not a pool ended for another's)."""


def _start_worker(memory_limit: int) -> None:
    """Runs first in each worker. The death signal is set before the liveness pipe is let go,
    so the forkserver cannot end in between and leave this worker behind."""
    lifeline.die_with_parent()
    lifeline.leave_forkserver()
    resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))


class Sandbox:
    """`preload` names the modules the workers' forkserver imports once, so that each worker
    starts with its parsers loaded; the caller knows which ones it will run."""

    def __init__(
        self,
        *,
        workers: int = 2,
        memory_limit: int = 3 << 30,
        timeout: float = 120.0,
        preload: Sequence[str] = (),
    ):
        self._workers = workers
        self._preload = list(preload)
        self._memory_limit = memory_limit
        self._timeout = timeout
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        # Pools ended because a file in them ran out of time, with that file's future: the
        # others' files were innocent.
        self._ended_late: weakref.WeakKeyDictionary[ProcessPoolExecutor, Future[Any]] = (
            weakref.WeakKeyDictionary()
        )

    def run(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """A file whose worker was killed for another file's time running out is tried again,
        once, in the new pool: it did nothing wrong."""
        pool, future = self._submit(function, *args, **kwargs)
        try:
            return self._outcome(pool, future, time.monotonic() + self._timeout)
        except _TookTooLong:
            raise
        except CorruptFile:
            if self._ended_late.get(pool) in (None, future):
                raise
        pool, future = self._submit(function, *args, **kwargs)
        return self._outcome(pool, future, time.monotonic() + self._timeout)

    def run_on(self, function: Callable[..., T], source: BinaryIO, *args: Any, **kwargs: Any) -> T:
        """`function(file, *args, **kwargs)` in a worker, where `file` is a seekable reader of
        `source`, served from here as the worker asks. An error reading `source` (a stored
        object that fails authentication) is raised here as it is, whatever the worker makes
        of the broken read."""
        size = source.seek(0, io.SEEK_END)
        here, there = multiprocessing.get_context("forkserver").Pipe()
        deadline = time.monotonic() + self._timeout
        try:
            pool, future = self._submit(_on_pipe, function, there, size, *args, **kwargs)
            try:
                failure = _serve(source, here, future, deadline)
            except FutureTimeout:
                self._ended_late.setdefault(pool, future)
                self._discard(pool)
                raise _TookTooLong(_TOO_LONG) from None
            if failure is not None:
                with contextlib.suppress(Exception):
                    self._outcome(pool, future, deadline)
                raise failure
            return cast(T, self._outcome(pool, future, deadline))
        finally:
            here.close()
            there.close()

    def _submit(
        self, function: Callable[..., T], *args: Any, **kwargs: Any
    ) -> tuple[ProcessPoolExecutor, Future[T]]:
        """A pool broken by someone else's file is replaced, once, rather than refusing this one."""
        pool = self._executor()
        try:
            return pool, pool.submit(function, *args, **kwargs)
        except BrokenProcessPool:
            self._discard(pool)
            pool = self._executor()
            return pool, pool.submit(function, *args, **kwargs)

    def _outcome(self, pool: ProcessPoolExecutor, future: Future[T], deadline: float) -> T:
        try:
            return future.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            if self._ended_late.setdefault(pool, future) is not future:
                # Waiting behind a file whose time ran out, in the pool ended for it.
                raise CorruptFile("This file could not be processed safely.") from None
            self._discard(pool)
            raise _TookTooLong(_TOO_LONG) from None
        except (BrokenProcessPool, CancelledError):
            self._discard(pool)
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
                context.set_forkserver_preload(self._preload)
                self._pool = ProcessPoolExecutor(
                    self._workers,
                    mp_context=context,
                    initializer=_start_worker,
                    initargs=(self._memory_limit,),
                )
            return self._pool

    def _discard(self, pool: ProcessPoolExecutor) -> None:
        """Ends `pool` if it is still the current one (another caller may have replaced it)."""
        with self._lock:
            if self._pool is not pool:
                return
            self._pool = None
        # The stuck or dead worker must go; Python 3.11 has no public way to kill one.
        for process in list(getattr(pool, "_processes", {}).values()):
            process.kill()
        pool.shutdown(wait=False, cancel_futures=True)

    def close(self, grace: float = 5.0) -> None:
        """A file still being decoded gets `grace` seconds, then its worker is killed: a decoder
        stuck in a loop would otherwise hold up the server's shutdown for as long as it loops."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is None:
            return
        processes = list(getattr(pool, "_processes", {}).values())
        pending = getattr(pool, "_pending_work_items", None)
        busy = pending is None or any(item.fn is not int for item in list(pending.values()))
        pool.shutdown(wait=False, cancel_futures=True)
        # Idle workers (or ones still starting, with only `warm`'s no-ops queued) hold nothing:
        # waiting for them to notice the shutdown would hold up every stop by up to a second.
        deadline = time.monotonic() + (grace if busy else 0.0)
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()


def _serve(
    source: BinaryIO, pipe: Connection, future: Future[Any], deadline: float
) -> BaseException | None:
    """Answers the worker's reads until it is done (or gone). After the first error reading
    `source`, every further read fails too, so a parser that retries gives up rather than wait."""
    failure: BaseException | None = None
    while not future.done():
        if time.monotonic() > deadline:
            raise FutureTimeout
        if not pipe.poll(0.05):
            continue
        request = pipe.recv()
        if request is None:
            break
        if failure is not None:
            pipe.send(None)
            continue
        offset, length = request
        try:
            source.seek(offset)
            pipe.send(source.read(min(length, _MAX_READ)))
        except Exception as error:  # noqa: BLE001 - any failure of the source is the caller's
            pipe.send(None)
            failure = error
    return failure


class _PipeFile(SizedReader):
    """In the worker: a read-only file whose bytes come from the server on demand."""

    def __init__(self, pipe: Connection, size: int) -> None:
        super().__init__(size)
        self._pipe = pipe

    def readinto(self, buffer: Any) -> int:
        wanted = min(len(buffer), self._size - self._position, _MAX_READ)
        if wanted <= 0:
            return 0
        self._pipe.send((self._position, wanted))
        data = self._pipe.recv()
        if data is None:
            raise OSError("the stored file could not be read")
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)


# What the worker's reader asks for at least: a parser seeks from object to object, and each
# seek refills the buffer. At 256 KiB, checking a 64 MiB scan of 51 pages moved 28 MiB over the
# pipe to read 1.3 MiB; at 32 KiB, 4.6 MiB, in as many round trips (large reads pass through).
_PIPE_BUFFER = 32 << 10


def _on_pipe(
    function: Callable[..., T], pipe: Connection, size: int, *args: Any, **kwargs: Any
) -> T:
    try:
        return function(io.BufferedReader(_PipeFile(pipe, size), _PIPE_BUFFER), *args, **kwargs)
    finally:
        pipe.send(None)
        pipe.close()


_shared: Sandbox | None = None


def shared(*, preload: Sequence[str] = ()) -> Sandbox:
    """One pool per server process, shared by every app built in it (the first one's
    `preload` holds for all)."""
    global _shared
    if _shared is None:
        _shared = Sandbox(preload=preload)
    return _shared
