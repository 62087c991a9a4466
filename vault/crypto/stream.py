"""DVLT v1: the streaming AEAD every stored object is written in (SECURITY.md).

    header(95) = "DVLT" ‖ 0x01 ‖ suite 0x01 ‖ chunk_exp ‖ 0x00 ‖ object_id(16)
                 ‖ salt(32) ‖ nonce_prefix(7) ‖ commitment(32)
    chunk_i    = AES-256-GCM(K_payload, nonce_prefix ‖ u32be(i) ‖ final?, plaintext_i)

K_payload and the commitment are derived with HKDF from the data key, the salt,
the header and the caller's context, so every chunk is bound to its object, its
position and to whether it is the last one: truncation, reordering, splicing
between objects and any flipped bit all fail authentication. A reader never
releases plaintext of a chunk whose tag has not verified.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import os
import struct
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from vault.crypto.errors import IntegrityError, StreamStateError

MAGIC = b"DVLT"
VERSION = 1
SUITE = 1
HEADER_SIZE = 95
_CORE_SIZE = 63
TAG_SIZE = 16
DEFAULT_CHUNK_EXP = 20
CHUNK_SIZE = 1 << DEFAULT_CHUNK_EXP
MIN_CHUNK_EXP, MAX_CHUNK_EXP = 16, 22
_PAYLOAD_LABEL = b"dvlt/v1/payload"
_COMMIT_LABEL = b"dvlt/v1/commit"


class Reader(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def chunk_count(plaintext_size: int, chunk_exp: int = DEFAULT_CHUNK_EXP) -> int:
    return max(1, -(-plaintext_size // (1 << chunk_exp)))


def ciphertext_size(plaintext_size: int, chunk_exp: int = DEFAULT_CHUNK_EXP) -> int:
    return HEADER_SIZE + plaintext_size + TAG_SIZE * chunk_count(plaintext_size, chunk_exp)


def _derive(dek: bytes, salt: bytes, label: bytes, core: bytes, context: bytes) -> bytes:
    info = label + hashlib.sha256(core).digest() + hashlib.sha256(context).digest()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(dek)


class SegmentCipher:
    """The keys of one object: seals and opens its chunks by index."""

    def __init__(self, payload_key: bytes, nonce_prefix: bytes, chunk_exp: int) -> None:
        self._aead = AESGCM(payload_key)
        self._prefix = nonce_prefix
        self.chunk_exp = chunk_exp
        self.chunk_size = 1 << chunk_exp

    @classmethod
    def create(
        cls,
        dek: bytes,
        *,
        object_id: bytes,
        context: bytes,
        chunk_exp: int = DEFAULT_CHUNK_EXP,
        _salt: bytes | None = None,
        _nonce_prefix: bytes | None = None,
    ) -> tuple[bytes, SegmentCipher]:
        """`_salt` and `_nonce_prefix` are for the fixed test vectors only: see Encryptor."""
        if len(object_id) != 16:
            raise ValueError("object_id must be 16 bytes")
        if not MIN_CHUNK_EXP <= chunk_exp <= MAX_CHUNK_EXP:
            raise ValueError("chunk_exp outside the range readers accept")
        salt = os.urandom(32) if _salt is None else _salt
        prefix = os.urandom(7) if _nonce_prefix is None else _nonce_prefix
        if (len(salt), len(prefix)) != (32, 7):
            raise ValueError("salt must be 32 bytes and nonce prefix 7")
        core = MAGIC + bytes([VERSION, SUITE, chunk_exp, 0]) + object_id + salt + prefix
        commitment = _derive(dek, salt, _COMMIT_LABEL, core, context)
        payload_key = _derive(dek, salt, _PAYLOAD_LABEL, core, context)
        return core + commitment, cls(payload_key, prefix, chunk_exp)

    @classmethod
    def from_header(cls, dek: bytes, header: bytes, *, context: bytes) -> SegmentCipher:
        # Everything is checked before any chunk is read or any buffer sized by the header.
        if len(header) != HEADER_SIZE or header[:4] != MAGIC:
            raise IntegrityError("not a DVLT object")
        version, suite, chunk_exp, reserved = header[4:8]
        if version != VERSION or suite != SUITE or reserved != 0:
            raise IntegrityError("unknown DVLT version or suite")
        if not MIN_CHUNK_EXP <= chunk_exp <= MAX_CHUNK_EXP:
            raise IntegrityError("chunk size out of range")
        core, salt, prefix = header[:_CORE_SIZE], header[24:56], header[56:63]
        expected = _derive(dek, salt, _COMMIT_LABEL, core, context)
        if not hmac.compare_digest(expected, header[_CORE_SIZE:]):
            raise IntegrityError("key commitment does not match")
        return cls(_derive(dek, salt, _PAYLOAD_LABEL, core, context), prefix, chunk_exp)

    def _nonce(self, index: int, final: bool) -> bytes:
        return self._prefix + struct.pack(">I", index) + (b"\x01" if final else b"\x00")

    def seal(self, index: int, plaintext: bytes | bytearray | memoryview, *, final: bool) -> bytes:
        return self._aead.encrypt(self._nonce(index, final), plaintext, None)

    def open(self, index: int, ciphertext: bytes | memoryview, *, final: bool) -> bytes:
        try:
            return self._aead.decrypt(self._nonce(index, final), ciphertext, None)
        except InvalidTag:
            raise IntegrityError(f"chunk {index} failed authentication") from None


class Encryptor:
    """Encrypts a stream as it arrives, holding at most one chunk of plaintext.

    A full chunk is held back until more data shows it is not the last one, so
    that the final chunk is always marked final, even when it is full.

    `_salt` and `_nonce_prefix` exist only so that tests can reproduce the fixed
    DVLT v1 vectors (tests/crypto/vectors). Production code never passes them: a
    salt and prefix used twice under one data key repeat GCM nonces, which breaks
    confidentiality and authenticity alike. A test keeps them out of vault/.
    """

    def __init__(
        self,
        dek: bytes,
        *,
        object_id: bytes,
        context: bytes,
        chunk_exp: int = DEFAULT_CHUNK_EXP,
        _salt: bytes | None = None,
        _nonce_prefix: bytes | None = None,
    ) -> None:
        self.header, self._cipher = SegmentCipher.create(
            dek,
            object_id=object_id,
            context=context,
            chunk_exp=chunk_exp,
            _salt=_salt,
            _nonce_prefix=_nonce_prefix,
        )
        self._buffer = bytearray()
        self._index = 0
        self._finished = False
        self.plaintext_size = 0

    @property
    def chunk_size(self) -> int:
        return self._cipher.chunk_size

    def update(self, data: bytes | bytearray | memoryview) -> bytes:
        """The chunks `data` completes, sealed; often b"" while a chunk fills.

        Returned rather than yielded, so data is sealed whether or not the caller
        looks at the result. Pieces of at most `chunk_size` bytes seal at most one
        chunk each, returned without a copy; a larger piece costs one join.
        """
        sealed = self._seal_completed(data)
        return sealed[0] if len(sealed) == 1 else b"".join(sealed)

    def finalize(self) -> bytes:
        """The final chunk; once only, since another would reuse the final nonce."""
        if self._finished:
            raise StreamStateError("the stream is already finalized")
        self._finished = True
        chunk = self._cipher.seal(self._index, self._buffer, final=True)
        self._buffer = bytearray()
        return chunk

    def _seal_completed(self, data: bytes | bytearray | memoryview) -> list[bytes]:
        if self._finished:
            raise StreamStateError("update after finalize")
        self.plaintext_size += len(data)
        size = self._cipher.chunk_size
        view = memoryview(data)
        sealed: list[bytes] = []
        if self._buffer:
            take = min(len(view), size - len(self._buffer))
            self._buffer += view[:take]
            view = view[take:]
            if not view:
                return sealed
            sealed.append(self._seal(self._buffer))
            self._buffer.clear()
        while len(view) > size:
            sealed.append(self._seal(view[:size]))
            view = view[size:]
        self._buffer += view
        return sealed

    def _seal(self, plaintext: bytes | bytearray | memoryview) -> bytes:
        chunk = self._cipher.seal(self._index, plaintext, final=False)
        self._index += 1
        return chunk


class SpanSealer:
    """Seals an object of known size in spans that may be sealed far apart in time and place
    (a resumable upload's requests, on any node), into the same bytes an Encryptor makes.

    A span starts at a chunk boundary and holds whole chunks, but the object's last, which
    ends it; its chunks' indexes and the final flag follow from where it starts, so a caller
    cannot number or flag them wrongly. What it cannot check is that a chunk is sealed once:
    sealing one index again with other plaintext repeats a GCM nonce, so a caller that may
    seal a span twice (a request retried after a failure) must make sure the plaintext is the
    same (vault.documents.resumable records each span's digests before its ciphertext leaves).
    """

    def __init__(self, cipher: SegmentCipher, header: bytes, plaintext_size: int) -> None:
        if plaintext_size < 0:
            raise ValueError("plaintext_size must not be negative")
        self._cipher = cipher
        self.header = header
        self.plaintext_size = plaintext_size
        self.chunks = chunk_count(plaintext_size, cipher.chunk_exp)

    @classmethod
    def create(
        cls,
        dek: bytes,
        *,
        object_id: bytes,
        context: bytes,
        plaintext_size: int,
        chunk_exp: int = DEFAULT_CHUNK_EXP,
        _salt: bytes | None = None,
        _nonce_prefix: bytes | None = None,
    ) -> SpanSealer:
        """A new object: a fresh salt and nonce prefix (the test-only arguments: see Encryptor)."""
        header, cipher = SegmentCipher.create(
            dek,
            object_id=object_id,
            context=context,
            chunk_exp=chunk_exp,
            _salt=_salt,
            _nonce_prefix=_nonce_prefix,
        )
        return cls(cipher, header, plaintext_size)

    @classmethod
    def resume(
        cls, dek: bytes, header: bytes, *, context: bytes, plaintext_size: int
    ) -> SpanSealer:
        """The object begun under `header`, whose key commitment is checked first."""
        return cls(SegmentCipher.from_header(dek, header, context=context), header, plaintext_size)

    @property
    def chunk_size(self) -> int:
        return self._cipher.chunk_size

    def sealed_size(self, start: int, length: int) -> int:
        """Ciphertext bytes of the span [start, start + length), without the header."""
        chunks = -(-length // self.chunk_size) if length else 1
        return length + TAG_SIZE * chunks

    def seal(self, start: int, plaintext: bytes | bytearray | memoryview) -> bytes:
        size, view = self.chunk_size, memoryview(plaintext)
        end = start + len(view)
        if start % size or end > self.plaintext_size:
            raise ValueError("a span starts at a chunk boundary, inside the object")
        if end != self.plaintext_size and len(view) % size:
            raise ValueError("only the span that ends the object may end in a short chunk")
        if not view and self.plaintext_size:
            raise ValueError("an empty span is only the final chunk of an empty object")
        first, last = start // size, self.chunks - 1
        sealed = []
        for index in range(first, max(first + 1, first + -(-len(view) // size))):
            piece = view[(index - first) * size : (index - first + 1) * size]
            sealed.append(self._cipher.seal(index, piece, final=index == last))
        return sealed[0] if len(sealed) == 1 else b"".join(sealed)


def encrypt_bytes(dek: bytes, plaintext: bytes, *, object_id: bytes, context: bytes) -> bytes:
    encryptor = Encryptor(dek, object_id=object_id, context=context)
    sealed = encryptor._seal_completed(plaintext)  # joined once, with the header and final chunk
    return b"".join([encryptor.header, *sealed, encryptor.finalize()])


class Decryptor:
    """Opens one object whose plaintext size is known from its metadata row.

    The size fixes how many chunks there are and which one is final, so a short,
    long or re-cut object fails instead of yielding a plausible prefix.
    """

    def __init__(self, dek: bytes, header: bytes, *, context: bytes, plaintext_size: int) -> None:
        self._cipher = SegmentCipher.from_header(dek, header, context=context)
        self.plaintext_size = plaintext_size
        self.chunks = chunk_count(plaintext_size, self._cipher.chunk_exp)

    @property
    def chunk_size(self) -> int:
        return self._cipher.chunk_size

    def _stored_size(self, index: int) -> int:
        return min(self.chunk_size, self.plaintext_size - index * self.chunk_size) + TAG_SIZE

    def span(self, start: int, stop: int) -> tuple[int, int, int, int]:
        """Chunks covering plaintext [start, stop): (first, last, ciphertext offset, length)."""
        exp = self._cipher.chunk_exp
        first, last = start >> exp, max(start, stop - 1) >> exp
        stride = self.chunk_size + TAG_SIZE
        # Every chunk before `last` in the span is full: only the object's final chunk is short.
        return (
            first,
            last,
            HEADER_SIZE + first * stride,
            (last - first) * stride + self._stored_size(last),
        )

    def open_chunk(self, index: int, ciphertext: bytes | memoryview) -> bytes:
        if not 0 <= index < self.chunks or len(ciphertext) != self._stored_size(index):
            raise IntegrityError(f"chunk {index} has the wrong length")
        return self._cipher.open(index, ciphertext, final=index == self.chunks - 1)

    def chunks_from(
        self, reader: Reader, first: int = 0, last: int | None = None
    ) -> Iterator[bytes]:
        """Plaintext of chunks first..last read in order from `reader`; the whole object by default.

        For the whole object the reader must end exactly after the final chunk.
        """
        last = self.chunks - 1 if last is None else last
        for index in range(first, last + 1):
            ciphertext = read_exact(reader, self._stored_size(index))
            # Checked before the final chunk is released, so the response never completes.
            if index == self.chunks - 1 and reader.read(1):
                raise IntegrityError("bytes follow the final chunk")
            yield self.open_chunk(index, ciphertext)

    def plaintext(self, reader: Reader, start: int = 0, stop: int | None = None) -> Iterator[bytes]:
        """Plaintext [start, stop) from a reader positioned at the first chunk of the span."""
        stop = self.plaintext_size if stop is None else stop
        # An empty object still ends in a final chunk, which must be there and verify.
        if start >= stop and self.plaintext_size:
            return
        first, last, _, _ = self.span(start, stop)
        base = first * self.chunk_size
        for index, chunk in enumerate(self.chunks_from(reader, first, last), first):
            offset = base if index == first else index * self.chunk_size
            lo, hi = max(start - offset, 0), min(stop - offset, len(chunk))
            yield chunk if (lo, hi) == (0, len(chunk)) else chunk[lo:hi]


def read_exact(reader: Reader, size: int) -> bytes:
    data = reader.read(size)
    if len(data) == size:
        return data
    parts = [data]
    got = len(data)
    while got < size:
        more = reader.read(size - got)
        if not more:
            raise IntegrityError("object is truncated")
        parts.append(more)
        got += len(more)
    return b"".join(parts)


class SizedReader(io.RawIOBase):
    """A read-only, seekable raw file of known size; a subclass says how to `readinto`."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position}.get(whence, self._size)
        self._position = max(0, base + offset)
        return self._position


class SeekablePlaintext(SizedReader):
    """A read-only, seekable plaintext view of an object, fetched by range and verified per chunk.

    PDF parsers jump around a file (the cross-reference table sits at its end);
    this lets them read a large PDF without it ever existing in plaintext anywhere but
    a few cached chunks in memory. `fetch(offset, length)` reads its ciphertext: from
    the store, or from a local spool of what is being written.
    """

    def __init__(
        self,
        decryptor: Decryptor,
        fetch: Callable[[int, int], bytes],
        *,
        cached_chunks: int = 8,
    ) -> None:
        super().__init__(decryptor.plaintext_size)
        self._decryptor = decryptor
        self._fetch = fetch
        self._cache: OrderedDict[int, bytes] = OrderedDict()
        self._cached_chunks = cached_chunks

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        size = min(len(view), self._size - self._position)
        done = 0
        while done < size:
            index, offset = divmod(self._position, self._decryptor.chunk_size)
            chunk = self._chunk(index)
            take = min(size - done, len(chunk) - offset)
            view[done : done + take] = chunk[offset : offset + take]
            done += take
            self._position += take
        return done

    def _chunk(self, index: int) -> bytes:
        chunk = self._cache.get(index)
        if chunk is None:
            _, _, offset, length = self._decryptor.span(
                index * self._decryptor.chunk_size, (index + 1) * self._decryptor.chunk_size
            )
            chunk = self._decryptor.open_chunk(index, self._fetch(offset, length))
            self._cache[index] = chunk
            if len(self._cache) > self._cached_chunks:
                self._cache.popitem(last=False)
        self._cache.move_to_end(index)
        return chunk
