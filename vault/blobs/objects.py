"""Encrypted objects in the blob store: DVLT streams under random keys, each with its own
data key. The store sees only ciphertext and keys that say nothing about their owner."""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import tempfile
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO, TypeVar, cast

from storage import BlobNotFound, BlobReader, BlobStore, ReadAhead, StoreUnavailable, read_range
from vault import crypto
from vault.keys import ObjectBinding

log = logging.getLogger(__name__)
T = TypeVar("T")


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


def write_stream(
    store: BlobStore,
    binding: ObjectBinding,
    chunks: Iterable[bytes],
    *,
    on_key: Callable[[str], None],
) -> StoredObject:
    """Encrypt while reading; `on_key` learns the key before the first byte is written,
    so that a failure at any point can still find and delete the object."""
    key, dek = _new_object(on_key)
    with store.writer(key) as sink:
        return _encrypt(sink.write, key, dek, binding, chunks)


@contextmanager
def write_checked(
    store: BlobStore,
    binding: ObjectBinding,
    chunks: Iterable[bytes],
    *,
    on_key: Callable[[str], None],
) -> Iterator[tuple[StoredObject, BinaryIO]]:
    """Writes like `write_stream`, and appends the same ciphertext to a local Spool, so that
    what was written can be checked without reading it back from the store: the block gets
    the object and a verified, seekable plaintext view of the spool, while the store may still
    be taking the last parts. The object exists once the block exits cleanly; if the block
    raises, the store's upload is abandoned."""
    key, dek = _new_object(on_key)
    with Spool() as spool, store.writer(key) as sink:

        def tee(block: bytes) -> None:
            sink.write(block)
            spool.append(block)

        stored = _encrypt(tee, key, dek, binding, chunks)
        with spool.view(stored, binding) as view:
            yield stored, view


class Spool:
    """An object's ciphertext as it is written, in a local file that has no name (O_TMPFILE),
    so it is gone when closed, on errors too, or when the process dies. It holds only the
    ciphertext the store gets, under the object's data key, which is in memory here (and
    wrapped, in the database, once the object is kept): nothing readable reaches the disk."""

    def __init__(self) -> None:
        self._file = _spooled(lambda: tempfile.TemporaryFile(prefix="vault-spool-"))  # noqa: SIM115 - closed by close()
        self.size = 0

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def append(self, block: bytes) -> None:
        _spooled(lambda: self._file.write(block))
        self.size += len(block)

    @contextmanager
    def view(self, obj: StoredObject, binding: ObjectBinding) -> Iterator[BinaryIO]:
        """The object's plaintext, seekable and verified chunk by chunk, read from the spool."""
        _spooled(self._file.flush)
        descriptor = self._file.fileno()
        with _view(
            obj,
            binding,
            lambda offset, length: _spooled(lambda: os.pread(descriptor, length, offset)),
        ) as view:
            yield view

    def close(self) -> None:
        self._file.close()


def _new_object(on_key: Callable[[str], None]) -> tuple[str, bytes]:
    key, dek = new_key(), crypto.new_key()
    on_key(key)
    return key, dek


def _encrypt(
    write: Callable[[bytes], object],
    key: str,
    dek: bytes,
    binding: ObjectBinding,
    chunks: Iterable[bytes],
) -> StoredObject:
    encryptor = crypto.Encryptor(dek, object_id=binding.document_id.bytes, context=binding.context)
    digest = hashlib.sha256()
    write(encryptor.header)
    step = encryptor.chunk_size
    for chunk in chunks:
        digest.update(chunk)
        # A chunk at a time: each update then returns one sealed chunk or none, uncopied.
        view = memoryview(chunk)
        for start in range(0, len(view), step):
            sealed = encryptor.update(view[start : start + step])
            if sealed:
                write(sealed)
    write(encryptor.finalize())
    return StoredObject(key, dek, encryptor.plaintext_size, digest.hexdigest(), encryptor.header)


def _spooled(operation: Callable[[], T]) -> T:
    """A full or failing local disk fails the upload as the store failing would."""
    try:
        return operation()
    except OSError as error:
        raise StoreUnavailable(f"upload spool: {error.strerror or type(error).__name__}") from error


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
def _view(
    obj: StoredObject, binding: ObjectBinding, fetch: Callable[[int, int], bytes]
) -> Iterator[BinaryIO]:
    """`fetch(offset, length)` reads the object's ciphertext; every chunk is verified."""
    header = obj.header or fetch(0, crypto.HEADER_SIZE)
    decryptor = crypto.Decryptor(obj.dek, header, context=binding.context, plaintext_size=obj.size)
    view = crypto.SeekablePlaintext(decryptor, fetch)
    try:
        yield cast(BinaryIO, view)  # a raw binary file in all but name
    finally:
        view.close()


@contextmanager
def seekable(store: BlobStore, obj: StoredObject, binding: ObjectBinding) -> Iterator[BinaryIO]:
    """A stored object's plaintext as a seekable file, read from the store by ranges as the
    reader goes: for a job that parses a paper already stored (OCR of a PDF's first pages)."""
    with _view(
        obj, binding, lambda offset, length: read_range(store, obj.key, offset, length)
    ) as view:
        yield view


def discard(store: BlobStore, key: str) -> None:
    """Best effort: a blob not deleted now is unreadable anyway; `vault storage gc` sweeps it."""
    try:
        store.delete(key)
    except (StoreUnavailable, BlobNotFound, OSError):
        log.warning("could not delete blob now; the orphan sweep will remove it")


def discard_all(store: BlobStore, keys: Iterable[str]) -> None:
    for key in keys:
        discard(store, key)
