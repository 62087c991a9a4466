"""Encrypted objects in the blob store: DVLT streams under random keys, each with its own
data key. The store sees only ciphertext and keys that say nothing about their owner."""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO, cast

from storage import BlobNotFound, BlobReader, BlobStore, ReadAhead, StoreUnavailable, read_range
from vault import crypto
from vault.keys import ObjectBinding

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredObject:
    key: str
    dek: bytes
    size: int
    sha256: str
    header: bytes | None = None  # known when just written: saves fetching it again

    def __repr__(self) -> str:
        return f"StoredObject(key={self.key!r}, size={self.size})"


def new_key() -> str:
    return secrets.token_hex(16)


class Edges:
    """The plaintext of an object's first chunk and last two chunks, kept while it is written:
    a PDF's parser reads mostly there, so checking a fresh upload needs few reads back.
    Only references to the incoming pieces are kept; bytes are copied once, at the end."""

    def __init__(self, chunk_size: int) -> None:
        self._size = chunk_size
        self._first: list[bytes] = []
        self._first_length = 0
        self._recent: deque[tuple[int, bytes]] = deque()
        self._recent_length = 0
        self._position = 0

    def add(self, piece: bytes) -> None:
        if self._first_length < self._size:
            self._first.append(piece)
            self._first_length += len(piece)
        self._recent.append((self._position, piece))
        self._position += len(piece)
        self._recent_length += len(piece)
        while self._recent_length - len(self._recent[0][1]) >= 3 * self._size:
            self._recent_length -= len(self._recent.popleft()[1])

    def chunks(self) -> dict[int, bytes]:
        found = {0: b"".join(self._first)[: self._size]}
        if not self._recent:
            return found
        tail = b"".join(piece for _, piece in self._recent)
        start = self._recent[0][0]
        last = max(0, self._position - 1) // self._size
        for index in (last - 1, last):
            offset = index * self._size - start
            if index >= 0 and offset >= 0:
                found[index] = tail[offset : offset + self._size]
        return found


def write_stream(
    store: BlobStore,
    binding: ObjectBinding,
    chunks: Iterable[bytes],
    *,
    on_key: Callable[[str], None],
    edges: Edges | None = None,
) -> StoredObject:
    """Encrypt while reading; `on_key` learns the key before the first byte is written,
    so that a failure at any point can still find and delete the object."""
    key, dek = new_key(), crypto.new_key()
    encryptor = crypto.Encryptor(dek, object_id=binding.document_id.bytes, context=binding.context)
    digest = hashlib.sha256()
    on_key(key)
    with store.writer(key) as sink:
        sink.write(encryptor.header)
        for chunk in chunks:
            digest.update(chunk)
            if edges is not None:
                edges.add(chunk)
            # A chunk at a time: each update then returns one sealed chunk or none, uncopied.
            view, step = memoryview(chunk), encryptor.chunk_size
            for start in range(0, len(view), step):
                sink.write(encryptor.update(view[start : start + step]))
        sink.write(encryptor.finalize())
    return StoredObject(key, dek, encryptor.plaintext_size, digest.hexdigest(), encryptor.header)


def write_bytes(
    store: BlobStore, binding: ObjectBinding, data: bytes, *, on_key: Callable[[str], None]
) -> StoredObject:
    return write_stream(store, binding, [data], on_key=on_key)


def _decryptor(
    store: BlobStore, key: str, dek: bytes, binding: ObjectBinding, size: int
) -> crypto.Decryptor:
    header = read_range(store, key, 0, crypto.HEADER_SIZE)
    return crypto.Decryptor(dek, header, context=binding.context, plaintext_size=size)


def read_stream(
    store: BlobStore,
    obj: StoredObject,
    binding: ObjectBinding,
    start: int = 0,
    stop: int | None = None,
) -> Generator[bytes]:
    """Verified plaintext [start, stop). The header and first chunk are checked before this
    returns, so a damaged object fails before a response starts rather than in its middle."""
    chunks = _decrypted(store, obj, binding, start, obj.size if stop is None else stop)
    head = next(chunks, None)
    return _resumed(head, chunks)


def _resumed(head: bytes | None, rest: Generator[bytes]) -> Generator[bytes]:
    if head is None:
        return
    try:
        yield head
        yield from rest
    finally:
        rest.close()


def _decrypted(
    store: BlobStore, obj: StoredObject, binding: ObjectBinding, start: int, stop: int
) -> Generator[bytes]:
    if (start, stop) == (0, obj.size):
        with store.reader(obj.key) as reader:
            header = crypto.read_exact(reader, crypto.HEADER_SIZE)
            decryptor = crypto.Decryptor(
                obj.dek, header, context=binding.context, plaintext_size=obj.size
            )
            yield from _with_read_ahead(decryptor, reader, start, stop)
        return
    decryptor = _decryptor(store, obj.key, obj.dek, binding, obj.size)
    _, _, offset, length = decryptor.span(start, stop)
    with store.reader(obj.key, offset, length) as reader:
        yield from _with_read_ahead(decryptor, reader, start, stop)


def _with_read_ahead(
    decryptor: crypto.Decryptor, reader: BlobReader, start: int, stop: int
) -> Iterator[bytes]:
    """The next chunks are fetched while this one is decrypted; reads are chunk-aligned here.
    A span of one chunk has nothing to overlap: it is read in this thread."""
    first, last, _, _ = decryptor.span(start, stop)
    if first == last:
        yield from decryptor.plaintext(reader, start, stop)
        return
    ahead = ReadAhead(reader, decryptor.chunk_size + crypto.TAG_SIZE)
    try:
        yield from decryptor.plaintext(ahead, start, stop)
    finally:
        ahead.close()


def read_bytes(store: BlobStore, obj: StoredObject, binding: ObjectBinding) -> bytes:
    return b"".join(read_stream(store, obj, binding))


@contextmanager
def seekable(
    store: BlobStore,
    obj: StoredObject,
    binding: ObjectBinding,
    *,
    edges: Edges | None = None,
) -> Iterator[BinaryIO]:
    header = obj.header or read_range(store, obj.key, 0, crypto.HEADER_SIZE)
    decryptor = crypto.Decryptor(obj.dek, header, context=binding.context, plaintext_size=obj.size)
    view = crypto.SeekablePlaintext(
        decryptor,
        lambda offset, length: read_range(store, obj.key, offset, length),
        known=edges.chunks() if edges else None,
    )
    try:
        yield cast(BinaryIO, view)  # a raw binary file in all but name
    finally:
        view.close()


def discard(store: BlobStore, key: str) -> None:
    """Best effort: a blob not deleted now is unreadable anyway; `vault storage gc` sweeps it."""
    try:
        store.delete(key)
    except (StoreUnavailable, BlobNotFound, OSError):
        log.warning("could not delete blob now; the orphan sweep will remove it")


def discard_all(store: BlobStore, keys: Iterable[str]) -> None:
    for key in keys:
        discard(store, key)
