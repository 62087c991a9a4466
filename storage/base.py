"""The blob-store contract shared by the file store and the S3 store."""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Collection, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

MIN_PART = 5 << 20  # S3's least part but the last, whatever the server
KEY_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{7,127}")


class BlobNotFound(Exception):
    @property
    def key(self) -> str:
        return str(self.args[0]) if self.args else ""


class StoreUnavailable(Exception):
    """The store cannot be reached or refused to work; retrying later may succeed."""


@dataclass(frozen=True)
class BlobInfo:
    key: str
    size: int
    modified: datetime


class BlobReader(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class BlobWriter(Protocol):
    def write(self, data: bytes, /) -> int: ...


class BlobStore(Protocol):
    # Whether a read waits on the network: a caller opening several blobs at once overlaps
    # them then, and reads a local disk's one after another (no thread hand-offs).
    remote: bool

    def writer(self, key: str) -> AbstractContextManager[BlobWriter]:
        """Collects a blob of unknown length; it exists only if the block exits cleanly."""

    def reader(
        self, key: str, offset: int = 0, length: int | None = None
    ) -> AbstractContextManager[BlobReader]: ...

    def delete(self, key: str) -> None:
        """Idempotent: deleting a missing blob is not an error."""

    def iter_blobs(self) -> Iterator[BlobInfo]: ...

    def abort_incomplete(self, before: datetime, keep: Collection[str] = ()) -> int:
        """Uploads begun before `before` that never finished (their process was killed): what
        they wrote is not a blob, so `iter_blobs` does not see it. Returns how many. Assemblies
        of the keys in `keep` are still on their way (see `begin_parts`) and stay."""

    def begin_parts(self, key: str) -> str:
        """An object put together from parts sent over hours, by any process: the parts are
        kept in the store, so whoever holds the returned handle can go on or finish. Nothing is
        readable under `key` until `finish_parts`."""

    def put_part(self, key: str, handle: str, number: int, data: bytes) -> str:
        """Part `number` (from 1), replacing one sent before under that number. Every part but
        the last must be at least MIN_PART bytes. Returns the token `finish_parts` needs. An
        assembly aborted (or never begun) is BlobNotFound."""

    def finish_parts(self, key: str, handle: str, tokens: Sequence[str]) -> None:
        """The object becomes parts 1..len(tokens) in order. An assembly already finished
        finds its object there and is done; one aborted (or never begun) is BlobNotFound."""

    def abort_parts(self, key: str, handle: str) -> None:
        """Idempotent: the parts go; an object already finished is not touched."""

    def check(self) -> None:
        """Raise StoreUnavailable unless the store answers."""


class BlockQueue:
    """Blocks of bytes handed from one thread to a reader in another. Bounded, so the producer
    waits when the reader falls behind; `b""` ends the stream and an exception put in the queue
    is raised where the reader is. A read of exactly one block's size gets that block uncopied."""

    def __init__(self, depth: int) -> None:
        self._queue: queue.Queue[bytes | BaseException] = queue.Queue(maxsize=depth)
        self._pending = memoryview(b"")
        self.ended = False

    def put(self, item: bytes | BaseException, timeout: float | None = None) -> None:
        self._queue.put(item, timeout=timeout)

    def _next(self) -> bytes:
        item = self._queue.get()
        self.ended = isinstance(item, BaseException) or not item
        if isinstance(item, BaseException):
            raise item
        return item

    def read(self, size: int = -1, /) -> bytes:
        parts: list[bytes | memoryview] = []
        wanted = size if size >= 0 else 1 << 62
        while wanted > 0:
            if not self._pending:
                if self.ended:
                    break
                item = self._next()
                if not item:
                    break
                if len(item) == wanted and not parts:
                    return item
                self._pending = memoryview(item)
            piece, self._pending = self._pending[:wanted], self._pending[wanted:]
            parts.append(piece)
            wanted -= len(piece)
        return b"".join(parts)

    def drain(self) -> None:
        """Discard blocks up to the end, so that a producer blocked on a full queue goes on."""
        while not self.ended:
            try:
                self._next()
            except BaseException:
                return


class ReadAhead(BlockQueue):
    """Reads the next blocks of a slow (network) reader in a thread while the caller works on
    the current one."""

    def __init__(self, reader: BlobReader, block: int, depth: int = 4) -> None:
        super().__init__(depth)
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._fill, args=(reader, block), daemon=True)
        self._thread.start()

    def _fill(self, reader: BlobReader, block: int) -> None:
        try:
            while not self._closed.is_set():
                data = reader.read(block)
                self._offer(data)
                if not data:
                    return
        except BaseException as error:
            self._offer(error)

    def _offer(self, item: bytes | BaseException) -> None:
        while not self._closed.is_set():
            try:
                self.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def close(self) -> None:
        self._closed.set()
        self._thread.join()


def check_key(key: str) -> str:
    if not KEY_PATTERN.fullmatch(key):  # `$` would let a trailing newline through
        raise ValueError("blob keys are opaque ids of 8 to 128 letters, digits, '-' or '_'")
    return key


def put_bytes(store: BlobStore, key: str, data: bytes) -> None:
    with store.writer(key) as sink:
        sink.write(data)


def read_range(store: BlobStore, key: str, offset: int, length: int) -> bytes:
    with store.reader(key, offset, length) as source:
        parts = []
        while length > 0:
            data = source.read(length)
            if not data:
                break
            parts.append(data)
            length -= len(data)
        return b"".join(parts)


@runtime_checkable
class Retaining(Protocol):
    def put_retained(self, key: str, data: bytes, until: datetime) -> bool:
        """Store a small blob that even the store's own credentials cannot delete or overwrite
        before `until` (S3 object lock, compliance mode). True if the store locked it."""


def put_retained(store: BlobStore, key: str, data: bytes, until: datetime) -> bool:
    """Locked where the store can lock (see Retaining); otherwise a plain put. False then."""
    if isinstance(store, Retaining):
        return store.put_retained(key, data, until)
    put_bytes(store, key, data)
    return False
