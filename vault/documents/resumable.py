"""Resumable uploads (the tus protocol's state): an upload is created with its length, receives
its bytes in any number of requests, and is made into a paper by the usual intake.

The bytes are written, as they arrive, into the object that can become the paper itself: at
creation the upload draws the id, data key and DVLT header of the paper it would be, and each
request seals its whole parts (PART_SIZE of plaintext) as that stream's chunks into one part
each of an object assembled in the store, which any API node can go on with. Bytes short of a
part wait in a small tail object encrypted under the upload's own key, and are sealed with the
next request's. Only once a part (or tail) is stored is it recorded and the offset moved, by
compare-and-set, in a short transaction: a crash loses at most what was in flight, and two
requests racing for one offset cannot both win. Before a part's ciphertext leaves the server,
the SHA-256 of its plaintext is recorded: a part sent again after a failure must be the same
bytes, since its chunks' GCM nonces are fixed by their place in the stream.

Made into a new paper as a PDF, the object is finished in the store and kept as it is; the
check reads it through a local spool of the ciphertext this process sent, or from the store
when other processes took part. Anything else (photos, a new version of a paper) reads the
bytes back and goes through the intake like a direct upload.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import io
import json
import logging
import tempfile
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import BinaryIO

from sqlalchemy import Engine, func, or_, update
from sqlalchemy import delete as sql_delete
from sqlmodel import Session, col, select

from storage import MIN_PART, BlobNotFound, BlobStore, StoreUnavailable, put_bytes, read_range
from vault import crypto, db
from vault.accounts.models import Citizen
from vault.blobs import objects
from vault.blobs.backend import Backend
from vault.documents.models import ResumableUpload, UploadState
from vault.documents.sealing import object_binding, open_metadata, seal_metadata
from vault.documents.uploads import FormField, FormPart, SealedFile
from vault.keys import ObjectBinding, unwrap_data_key, wrap_data_key
from vault.kit.errors import (
    ChecksumMismatch,
    Conflict,
    FileTooLarge,
    InvalidInput,
    MalformedRequest,
    NotFound,
    OffsetMismatch,
    TooManyUploads,
    UploadNotReady,
    UploadQuotaExceeded,
)

PART_SIZE = MIN_PART  # whole chunks: 5 of 1 MiB
MAX_PENDING = 10
MAX_PENDING_BYTES = 2 << 30
LIFETIME = timedelta(hours=24)
CHECKSUMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256}
UPLOAD_FIELD = "upload_id"
_NAME_LIMIT = 1024
_SPOOLS_KEPT = 32
_SPOOL_BYTES = MAX_PENDING_BYTES

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Checksum:
    """tus's Upload-Checksum: an algorithm and the digest of one request's body."""

    algorithm: str
    digest: bytes

    @classmethod
    def parse(cls, header: str) -> Checksum:
        algorithm, _, encoded = header.strip().partition(" ")
        if algorithm not in CHECKSUMS:
            raise MalformedRequest(
                f"Upload-Checksum algorithm must be one of {', '.join(CHECKSUMS)}."
            )
        try:
            digest = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise MalformedRequest(
                "Upload-Checksum is the algorithm and a base64 digest."
            ) from None
        return cls(algorithm, digest)


@dataclass(frozen=True)
class UploadView:
    id: uuid.UUID
    length: int
    received: int
    expires_at: datetime
    state: UploadState
    filename: str | None = None
    filetype: str | None = None

    @classmethod
    def of(cls, row: ResumableUpload, metadata: dict[str, str] | None = None) -> UploadView:
        metadata = metadata or {}
        return cls(
            row.id,
            row.length,
            row.received,
            db.aware(row.expires_at),
            row.state,
            metadata.get("filename"),
            metadata.get("filetype"),
        )


def _binding(upload_id: uuid.UUID, owner_id: uuid.UUID, number: int = 0) -> ObjectBinding:
    """Number 0 binds the upload's key and metadata; a tail waiting to fill part n, n."""
    return ObjectBinding(
        kind=crypto.ObjectKind.UPLOAD, document_id=upload_id, owner_id=owner_id, version=number
    )


def _paper(row: ResumableUpload) -> ObjectBinding:
    """The paper the upload's object is written for: new, so version 1."""
    return object_binding(crypto.ObjectKind.CONTENT, row.document_id, row.owner_id, 1)


def create(
    session: Session,
    backend: Backend,
    *,
    owner: Citizen,
    length: int,
    filename: str | None,
    filetype: str | None,
) -> UploadView:
    if length < 0:
        raise InvalidInput("Upload-Length is a whole number of bytes.", field="Upload-Length")
    limit = backend.limits.max_upload_bytes
    if length > limit:
        raise FileTooLarge(f"An upload is limited to {limit:,} bytes.")
    # One citizen's creations queue here, so two at once cannot both pass the quota.
    session.exec(select(Citizen.id).where(col(Citizen.id) == owner.id).with_for_update()).first()
    now = db.utc_now()
    count, pending = session.execute(
        select(func.count(), func.coalesce(func.sum(ResumableUpload.length), 0)).where(
            col(ResumableUpload.owner_id) == owner.id,
            col(ResumableUpload.state) != UploadState.CONSUMED,
            col(ResumableUpload.expires_at) > now,
        )
    ).one()
    if count >= MAX_PENDING:
        raise TooManyUploads(
            f"At most {MAX_PENDING} uploads may wait to become papers at once; "
            "finish or cancel one first."
        )
    if pending + length > MAX_PENDING_BYTES:
        raise UploadQuotaExceeded(
            f"Unfinished uploads may hold at most {MAX_PENDING_BYTES >> 30} GiB at once; "
            "finish or cancel one first."
        )
    upload_id, key, dek = uuid.uuid4(), crypto.new_key(), crypto.new_key()
    kek_version, kek = backend.keyring.citizen_key(session, owner.id)
    bound = _binding(upload_id, owner.id)
    metadata = {"filename": _short(filename), "filetype": _short(filetype)}
    row = ResumableUpload(
        id=upload_id,
        owner_id=owner.id,
        length=length,
        kek_version=kek_version,
        wrapped_key=wrap_data_key(kek, kek_version, key, bound),
        sealed_metadata=seal_metadata(key, bound, metadata),
        state=UploadState.RECEIVING if length else UploadState.COMPLETE,
        document_id=uuid.uuid4(),
        object_key=objects.new_key(),
        wrapped_dek=b"",
        header=b"",
        created_at=now,
        updated_at=now,
        expires_at=now + LIFETIME,
    )
    paper = _paper(row)
    row.wrapped_dek = wrap_data_key(kek, kek_version, dek, paper)
    row.header = crypto.SpanSealer.create(
        dek, object_id=row.document_id.bytes, context=paper.context, plaintext_size=length
    ).header
    if length:
        store = backend.store
        object_key = row.object_key
        row.assembly = assembly = store.begin_parts(object_key)
        db.after_rollback(session, lambda: _quietly(store.abort_parts, object_key, assembly))
    session.add(row)
    session.flush()
    return UploadView.of(row, {k: v for k, v in metadata.items() if v is not None})


def _short(text: str | None) -> str | None:
    return None if text is None else text[:_NAME_LIMIT]


def _live(session: Session, owner: Citizen, upload_id: uuid.UUID) -> ResumableUpload:
    """The owner's upload, not yet made into a paper nor expired; another's is not found."""
    row = session.exec(
        select(ResumableUpload).where(
            col(ResumableUpload.id) == upload_id,
            col(ResumableUpload.owner_id) == owner.id,
            col(ResumableUpload.state) != UploadState.CONSUMED,
            col(ResumableUpload.expires_at) > db.utc_now(),
        )
    ).first()
    if row is None:
        raise NotFound("No such upload (or it expired, or was made into a paper).")
    return row


def _key(session: Session, backend: Backend, row: ResumableUpload) -> bytes:
    _, kek = backend.keyring.citizen_key(session, row.owner_id)
    return unwrap_data_key(kek, row.kek_version, row.wrapped_key, _binding(row.id, row.owner_id))


def head(session: Session, backend: Backend, *, owner: Citizen, upload_id: uuid.UUID) -> UploadView:
    row = _live(session, owner, upload_id)
    metadata = open_metadata(
        _key(session, backend, row), _binding(row.id, row.owner_id), row.sealed_metadata
    )
    return UploadView.of(row, metadata)


def _dek(session: Session, backend: Backend, row: ResumableUpload) -> bytes:
    _, kek = backend.keyring.citizen_key(session, row.owner_id)
    return unwrap_data_key(kek, row.kek_version, row.wrapped_dek, _paper(row))


def append(
    session: Session,
    backend: Backend,
    *,
    owner: Citizen,
    upload_id: uuid.UUID,
    offset: int,
    body: Iterable[bytes],
    declared: int | None,
    checksum: Checksum | None,
    commit: Callable[[], None],
) -> UploadView:
    """Receive the bytes of one request at `offset`; `declared` is the body's length, if the
    client said it. `commit` is the caller's unit of work's commit: it ends the read before the
    body streams in, and makes each part count as received as soon as it is stored. With a
    checksum nothing counts until the whole body matches it."""
    row = _live(session, owner, upload_id)
    if offset != row.received:
        raise OffsetMismatch(
            f"The upload has {row.received:,} bytes; send the bytes from there (Upload-Offset)."
        )
    if declared is not None and declared > row.length - offset:
        # Before any byte is stored: cut at the length, its whole parts would be kept, yet 413.
        raise FileTooLarge(
            "The body goes past the upload's length (Upload-Length); none of it was kept."
        )
    key = _key(session, backend, row)
    sealer = crypto.SpanSealer.resume(
        _dek(session, backend, row),
        row.header,
        context=_paper(row).context,
        plaintext_size=row.length,
    )
    commit()
    chunks = _within(body, row.length - offset)
    if checksum is not None:
        chunks = _checked(chunks, checksum)
    try:
        _Receiving(session, backend.store, row, key, sealer, commit).run(chunks)
    except BlobNotFound:
        _forget_lost(session, backend.store, row.id)
        raise NotFound(
            "This upload's bytes are no longer in the store; create a new upload and send the "
            "whole file again."
        ) from None
    return UploadView.of(row)


def _within(body: Iterable[bytes], room: int) -> Iterator[bytes]:
    """A body of unsaid length (chunked) with more than `room` bytes is refused before any
    byte past it is kept."""
    total = 0
    for chunk in body:
        total += len(chunk)
        if total > room:
            raise FileTooLarge(
                "The body goes past the upload's length (Upload-Length); "
                "nothing past the last stored part was kept."
            )
        if chunk:
            yield chunk


def _checked(chunks: Iterable[bytes], checksum: Checksum) -> Iterator[bytes]:
    """The body once all of it matched the checksum: until then it waits in a local spool,
    encrypted under a key that exists only in this call. A failing local disk fails the
    request as the store failing would."""
    digest = CHECKSUMS[checksum.algorithm]()
    key, object_id, context = crypto.new_key(), uuid.uuid4().bytes, b"vault/checksummed-body"
    encryptor = crypto.Encryptor(key, object_id=object_id, context=context)
    try:
        with tempfile.TemporaryFile(prefix="vault-body-") as spool:
            spool.write(encryptor.header)
            for chunk in chunks:
                digest.update(chunk)
                spool.write(encryptor.update(chunk))
            spool.write(encryptor.finalize())
            if not hmac.compare_digest(digest.digest(), checksum.digest):
                raise ChecksumMismatch(
                    "The bytes received do not match Upload-Checksum; none of them were kept."
                )
            spool.seek(0)
            decryptor = crypto.Decryptor(
                key,
                crypto.read_exact(spool, crypto.HEADER_SIZE),
                context=context,
                plaintext_size=encryptor.plaintext_size,
            )
            yield from decryptor.plaintext(spool)
    except OSError as error:
        raise StoreUnavailable(f"upload spool: {error.strerror or type(error).__name__}") from error


class _Part:
    """One part's plaintext as it arrives, hashed and sealed a chunk at a time while the rest
    of the body streams in, so that once its last byte is in, what is left before the store
    gets it is the record of its digest. Sealed is not sent: a part never sent (the body ended
    short of it) leaves its ciphertext unused, and its bytes become the tail."""

    def __init__(self, sealer: crypto.SpanSealer, start: int, end: int) -> None:
        self.start, self.size = start, 0
        self._sealer, self._room = sealer, end - start
        self._hash = hashlib.sha256()
        self._chunks: list[bytes] = []  # whole chunks' plaintext, each sealed
        self._sealed: list[bytes] = []
        self._filling = bytearray()

    @property
    def full(self) -> bool:
        return self.size == self._room

    def add(self, data: memoryview) -> memoryview:
        """Takes what fits in the part; returns the rest."""
        take, rest = data[: self._room - self.size], data[self._room - self.size :]
        self._hash.update(take)
        self.size += len(take)
        step = self._sealer.chunk_size
        while take:
            room = step - len(self._filling)
            self._filling += take[:room]
            take = take[room:]
            if len(self._filling) == step or self.full:
                chunk = bytes(self._filling)
                self._filling.clear()
                start = self.start + len(self._chunks) * step
                self._sealed.append(self._sealer.seal(start, chunk))
                self._chunks.append(chunk)
        return rest

    def digest(self) -> bytes:
        return self._hash.digest()

    def chunks(self) -> list[bytes]:
        """The plaintext, chunk by chunk (uncopied), once the part is full."""
        return self._chunks

    def plaintext(self) -> bytes:
        return b"".join([*self._chunks, self._filling])

    def ciphertext(self, header: bytes) -> bytes:
        return b"".join([header, *self._sealed])


class _Receiving:
    """One request's bytes: after the waiting tail, cut into parts, each sealed as it arrives,
    then declared, sent and recorded in turn; what is left short of a part becomes the new
    tail. A part is recorded as soon as it is stored, not with the next one's declaration: a
    client that pauses mid-body must find the stored part counted (HEAD) if the server dies."""

    def __init__(
        self,
        session: Session,
        store: BlobStore,
        row: ResumableUpload,
        key: bytes,
        sealer: crypto.SpanSealer,
        commit: Callable[[], None],
    ) -> None:
        self._session, self._store, self._row = session, store, row
        self._key, self._sealer, self._commit = key, sealer, commit
        self._spool = SPOOLS.take(row.id, row.sealed)

    def run(self, chunks: Iterable[bytes]) -> None:
        row = self._row
        part = self._part(row.sealed)
        part.add(memoryview(self._tail()))
        fresh = False  # whether `part` holds bytes of this request, not only the old tail
        try:
            for chunk in chunks:
                rest = memoryview(chunk)
                fresh = fresh or bool(rest)
                while rest:
                    rest = part.add(rest)
                    if part.full:
                        self._send(part)
                        part, fresh = self._part(part.start + part.size), bool(rest)
            if fresh:
                self._keep(part.plaintext())
        except BaseException:
            if self._spool is not None:
                self._spool.close()
            raise
        if self._spool is not None:
            SPOOLS.give(row.id, self._spool)

    def _part(self, start: int) -> _Part:
        return _Part(self._sealer, start, min(start + PART_SIZE, self._row.length))

    def _tail(self) -> bytes:
        row = self._row
        if row.tail_key is None:
            return b""
        size = row.received - row.sealed
        reader = io.BytesIO(read_range(self._store, row.tail_key, 0, crypto.ciphertext_size(size)))
        bound = _binding(row.id, row.owner_id, row.sealed // PART_SIZE + 1)
        decryptor = crypto.Decryptor(
            self._key,
            crypto.read_exact(reader, crypto.HEADER_SIZE),
            context=bound.context,
            plaintext_size=size,
        )
        return b"".join(decryptor.plaintext(reader))

    def _send(self, part: _Part) -> None:
        row = self._row
        self._declare(part.start, part.digest())
        data = part.ciphertext(row.header if part.start == 0 else b"")
        # The spool is written (and the paper's digest taken) while the store takes the part.
        spool = self._spool
        spooling = _SPOOLING.submit(spool.add, data, part.chunks()) if spool else None
        try:
            token = self._store.put_part(
                row.object_key, _assembly(row), part.start // PART_SIZE + 1, data
            )
        finally:
            if spooling is not None:
                futures.wait([spooling])
        if spooling is not None:
            spooling.result()
        self._record(part.start + part.size, token=token, tail=None)

    def _declare(self, start: int, digest: bytes) -> None:
        """Before the part's ciphertext leaves: the same part sent before must have been these
        bytes, or its nonces would seal two plaintexts."""
        row = self._row
        declared = self._session.execute(
            update(ResumableUpload)
            .where(
                col(ResumableUpload.id) == row.id,
                col(ResumableUpload.received) == row.received,
                col(ResumableUpload.state) == UploadState.RECEIVING,
                or_(
                    col(ResumableUpload.declared_from).is_(None),
                    col(ResumableUpload.declared_from) != start,
                    col(ResumableUpload.declared) == digest,
                ),
            )
            .values(declared_from=start, declared=digest)
        )
        if declared.rowcount != 1:  # type: ignore[attr-defined]
            expected = row.received
            self._session.rollback()
            found = self._session.execute(
                select(ResumableUpload.received, ResumableUpload.declared_from).where(
                    col(ResumableUpload.id) == row.id
                )
            ).first()
            self._session.rollback()
            if found is not None and tuple(found) == (expected, start):
                raise Conflict(
                    "These bytes differ from the ones this upload was sent at this offset "
                    "before; cancel the upload and send the file again."
                )
            raise OffsetMismatch("Another request moved this upload on meanwhile; ask where it is.")
        self._commit()
        row.declared_from, row.declared = start, digest

    def _keep(self, plaintext: bytes) -> None:
        row = self._row
        tail = objects.new_key()
        bound = _binding(row.id, row.owner_id, row.sealed // PART_SIZE + 1)
        blob = crypto.encrypt_bytes(
            self._key, plaintext, object_id=row.id.bytes, context=bound.context
        )
        put_bytes(self._store, tail, blob)
        try:
            self._record(row.sealed + len(plaintext), token=None, tail=tail)
        except BaseException:
            objects.discard(self._store, tail)
            raise

    def _record(self, received: int, *, token: str | None, tail: str | None) -> None:
        """Count what was stored: the offset moves only from where this request found it, so of
        two requests racing for one offset the second is refused. A part replaces the tail."""
        row, session = self._row, self._session
        old_tail = row.tail_key  # before the update, which the session copies into `row`
        tokens = json.loads(row.part_tokens) + ([token] if token else [])
        sealed = received if token else row.sealed
        now = db.utc_now()
        state = UploadState.COMPLETE if received == row.length else UploadState.RECEIVING
        changes: dict[str, object] = {
            "received": received,
            "sealed": sealed,
            "part_tokens": json.dumps(tokens),
            "tail_key": tail,
            "updated_at": now,
            "expires_at": now + LIFETIME,
            "state": state,
        }
        if token:
            changes |= {"declared_from": None, "declared": None}
        moved = session.execute(
            update(ResumableUpload)
            .where(
                col(ResumableUpload.id) == row.id,
                col(ResumableUpload.received) == row.received,
                col(ResumableUpload.state) == UploadState.RECEIVING,
            )
            .values(**changes)
        )
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            session.rollback()
            raise OffsetMismatch("Another request moved this upload on meanwhile; ask where it is.")
        self._commit()
        for name, value in changes.items():
            setattr(row, name, value)
        if old_tail is not None:
            objects.discard(self._store, old_tail)


def _assembly(row: ResumableUpload) -> str:
    if row.assembly is None:
        raise crypto.IntegrityError("the upload has no assembly in the store")
    return row.assembly


@dataclass
class _Spool:
    """What this process sealed of one upload: the object's ciphertext so far, and the SHA-256
    of its plaintext so far (a paper records it, and a hash's state cannot be stored)."""

    spool: objects.Spool = field(default_factory=objects.Spool)
    digest: hashlib._Hash = field(default_factory=hashlib.sha256)
    sealed: int = 0

    def add(self, ciphertext: bytes, plaintext: list[bytes]) -> None:
        self.spool.append(ciphertext)
        for chunk in plaintext:
            self.digest.update(chunk)
            self.sealed += len(chunk)

    def close(self) -> None:
        self.spool.close()


class _Spools:
    """The spools of the uploads this process has sealed every part of: a request takes its
    upload's spool and gives it back once all went well, so a spool is never behind nor ahead of
    what was recorded. Another process's parts leave it behind, and it is dropped: the paper is
    then checked from the store. A few dozen spools and a citizen's quota of bytes at most are
    kept, the least recently used going first: an abandoned upload's spool would otherwise hold
    its disk space until the process ends."""

    def __init__(self, kept: int, most_bytes: int) -> None:
        self._kept = kept
        self._most_bytes = most_bytes
        self._lock = threading.Lock()
        self._spools: OrderedDict[uuid.UUID, _Spool] = OrderedDict()

    def take(self, upload_id: uuid.UUID, sealed: int) -> _Spool | None:
        with self._lock:
            spool = self._spools.pop(upload_id, None)
        if spool is not None and spool.sealed == sealed:
            return spool
        if spool is not None:
            spool.close()
        return _Spool() if sealed == 0 else None

    def give(self, upload_id: uuid.UUID, spool: _Spool) -> None:
        with self._lock:
            self._spools[upload_id] = spool
            evicted = []
            while len(self._spools) > self._kept or (
                len(self._spools) > 1 and self._bytes() > self._most_bytes
            ):
                evicted.append(self._spools.popitem(last=False)[1])
        for old in evicted:
            old.close()

    def _bytes(self) -> int:
        return sum(spool.spool.size for spool in self._spools.values())

    def drop(self, upload_id: uuid.UUID) -> None:
        with self._lock:
            spool = self._spools.pop(upload_id, None)
        if spool is not None:
            spool.close()


SPOOLS = _Spools(_SPOOLS_KEPT, _SPOOL_BYTES)
_SPOOLING = futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="upload-spool")


def terminate(session: Session, backend: Backend, *, owner: Citizen, upload_id: uuid.UUID) -> None:
    row = _live(session, owner, upload_id)
    held = _forget(session, [row.id])
    db.after_commit(session, lambda: _release(backend.store, held))


@dataclass(frozen=True)
class _Held:
    """What an upload not made into a paper holds in the store."""

    object_key: str
    assembly: str | None
    tail_key: str | None


def _forget(session: Session, upload_ids: list[uuid.UUID]) -> list[_Held]:
    """Delete these uploads' rows; what they held in the store, to let go after commit. A used
    upload holds nothing: its object is its paper's, or was deleted with its use. What each
    held is read as its row is deleted, under the row's lock: an upload made into a paper
    while this waited for that lock is seen used (read first, it was seen finished, and the
    new paper's object was let go with it)."""
    deleted = session.execute(
        sql_delete(ResumableUpload)
        .where(col(ResumableUpload.id).in_(upload_ids))
        .returning(
            col(ResumableUpload.state),
            col(ResumableUpload.object_key),
            col(ResumableUpload.assembly),
            col(ResumableUpload.tail_key),
        )
    ).all()
    for upload_id in upload_ids:
        SPOOLS.drop(upload_id)
    return [
        _Held(object_key, assembly, tail_key)
        for state, object_key, assembly, tail_key in deleted
        if state != UploadState.CONSUMED
    ]


def _release(store: BlobStore, held: Iterable[_Held]) -> None:
    for item in held:
        if item.assembly is not None:
            _quietly(store.abort_parts, item.object_key, item.assembly)
        objects.discard_all(store, [item.object_key] + ([item.tail_key] if item.tail_key else []))


def _forget_lost(session: Session, store: BlobStore, upload_id: uuid.UUID) -> None:
    """The store lost what this upload sent (its assembly was aborted behind its back): it can
    neither go on nor become a paper, so it goes, and its place in the citizen's quota with it.
    The refusal rolls the request back, so that is done in a transaction of its own after."""
    engine = session.get_bind()

    def forget() -> None:
        with db.unit_of_work(engine) as own:  # type: ignore[arg-type]
            held = _forget(own, [upload_id])
        _release(store, held)

    db.after_rollback(session, forget)


def _quietly(action: Callable[[str, str], None], key: str, handle: str) -> None:
    """Best effort: an assembly left open is aborted by `vault storage gc` once no row names it."""
    try:
        action(key, handle)
    except Exception:  # noqa: BLE001 - the sweep is the backstop
        log.warning("could not abort an assembly now; the orphan sweep will")


class Consumption:
    """Finished uploads named by `upload_id` fields, made into the file parts of a paper, so that
    the intake applies the same rules and checks as to a direct upload; `consume` marks them
    used in the transaction that stores the paper. An upload's object the paper adopted is the
    paper's; one only read goes once the paper commits."""

    def __init__(
        self, session: Session, backend: Backend, owner: Citizen, end_read: db.EndRead
    ) -> None:
        self._session = session
        self._backend = backend
        self._owner = owner
        self._end_read = end_read
        self._used: list[_UploadedFile] = []

    def expand(self, parts: Iterable[FormPart]) -> Iterator[FormPart]:
        for part in parts:
            if isinstance(part, FormField) and part.name == UPLOAD_FIELD:
                yield self._file(part.value)
            else:
                yield part

    def _file(self, value: str) -> _UploadedFile:
        try:
            upload_id = uuid.UUID(value.strip())
        except ValueError:
            raise InvalidInput("upload_id is not an upload's id.", field=UPLOAD_FIELD) from None
        if any(used.row.id == upload_id for used in self._used):
            raise UploadNotReady("The same upload is named twice.")
        session = self._session
        row = session.exec(
            select(ResumableUpload).where(
                col(ResumableUpload.id) == upload_id,
                col(ResumableUpload.owner_id) == self._owner.id,
                col(ResumableUpload.expires_at) > db.utc_now(),
            )
        ).first()
        if row is None:
            raise InvalidInput(
                "No such upload: it expired, was cancelled, or is not yours.", field=UPLOAD_FIELD
            )
        if row.state is UploadState.CONSUMED:
            raise UploadNotReady("This upload was already made into a paper.")
        if row.state is UploadState.RECEIVING:
            raise UploadNotReady(
                f"This upload is unfinished ({row.received:,} of {row.length:,} bytes); "
                "send the rest first."
            )
        if row.sealed != row.length:
            raise crypto.IntegrityError("the upload's parts do not add up to its length")
        key = _key(session, self._backend, row)
        metadata = open_metadata(key, _binding(row.id, row.owner_id), row.sealed_metadata)
        dek = _dek(session, self._backend, row)
        self._end_read()  # the paper's checks may take a while: no transaction is held
        store = self._backend.store
        if row.assembly is not None:
            try:
                store.finish_parts(row.object_key, row.assembly, json.loads(row.part_tokens))
            except BlobNotFound:
                _forget_lost(session, store, row.id)
                raise UploadNotReady(
                    "This upload's bytes are no longer in the store; upload the file again."
                ) from None
        used = _UploadedFile(store, row, dek, metadata.get("filename"))
        self._used.append(used)
        return used

    def consume(self) -> None:
        """In the paper's transaction: a use that lost a race is refused, and the paper with it."""
        if not self._used:
            return
        session = self._session
        for used in self._used:
            taken = session.execute(
                update(ResumableUpload)
                .where(
                    col(ResumableUpload.id) == used.row.id,
                    col(ResumableUpload.owner_id) == self._owner.id,
                    col(ResumableUpload.state) == UploadState.COMPLETE,
                )
                .values(state=UploadState.CONSUMED, updated_at=db.utc_now())
            )
            if taken.rowcount != 1:  # type: ignore[attr-defined]
                raise UploadNotReady("This upload was already made into a paper.")
        read = [
            _Held(used.row.object_key, used.row.assembly, None)
            for used in self._used
            if not used.adopted
        ]
        store = self._backend.store
        db.after_commit(session, lambda: _release(store, read))


class _UploadedFile(SealedFile):
    """A finished upload as a form's file part, its parts joined into its object in the store
    (joining again finds it joined); read back only when not adopted."""

    def __init__(
        self, store: BlobStore, row: ResumableUpload, dek: bytes, filename: str | None
    ) -> None:
        self.name = "file"
        self.filename: str | None = filename or "upload"
        self.paper = _paper(row)
        self.size = row.length
        self.adopted = False
        self.row = row
        self._store = store
        self._dek = dek

    def _stored(self, sha256: str = "") -> objects.StoredObject:
        row = self.row
        return objects.StoredObject(row.object_key, self._dek, row.length, sha256, row.header)

    def chunks(self) -> Iterator[bytes]:
        if self.row.length:
            yield from objects.read_stream(self._store, self._stored(), self.paper)

    @contextmanager
    def adopt(self) -> Iterator[tuple[objects.StoredObject, BinaryIO]]:
        """Checked through the spool this process kept of every part, if it did; otherwise
        read from the store, the SHA-256 by one pass over the whole object."""
        spool = SPOOLS.take(self.row.id, self.row.length)
        try:
            if spool is not None and self.row.length:
                stored = self._stored(spool.digest.hexdigest())
                with spool.spool.view(stored, self.paper) as view:
                    yield stored, view
            else:
                digest = hashlib.sha256()
                for chunk in self.chunks():
                    digest.update(chunk)
                stored = self._stored(digest.hexdigest())
                with objects.seekable(self._store, stored, self.paper) as view:
                    yield stored, view
        finally:
            if spool is not None:
                spool.close()


@dataclass
class ExpiryReport:
    expired: int = 0
    pieces: int = 0


def sweep_expired(engine: Engine, store: BlobStore, *, now: datetime | None = None) -> ExpiryReport:
    """Remove uploads past their time (unfinished, or finished and never made into a paper) and
    the rows of used ones; what they held in the store goes once the rows have."""
    report = ExpiryReport()
    cutoff = now or db.utc_now()
    while True:
        with db.unit_of_work(engine) as session:
            ids = list(
                session.exec(
                    select(ResumableUpload.id)
                    .where(col(ResumableUpload.expires_at) <= cutoff)
                    .limit(500)
                ).all()
            )
            if not ids:
                return report
            held = _forget(session, ids)
        _release(store, held)
        report.expired += len(ids)
        report.pieces += sum(1 + (item.tail_key is not None) for item in held)


def referenced(session: Session, keys: set[str]) -> set[str]:
    """Which of these object keys an upload not yet made into a paper holds."""
    rows = session.execute(
        select(ResumableUpload.object_key, ResumableUpload.tail_key).where(
            col(ResumableUpload.state) != UploadState.CONSUMED,
            or_(col(ResumableUpload.object_key).in_(keys), col(ResumableUpload.tail_key).in_(keys)),
        )
    ).all()
    return {key for row in rows for key in row if key in keys}


def assembling(session: Session) -> set[str]:
    """The keys of objects being assembled for uploads still on their way: not to abort."""
    return set(
        session.exec(
            select(ResumableUpload.object_key).where(
                col(ResumableUpload.state) != UploadState.CONSUMED,
                col(ResumableUpload.assembly).is_not(None),
            )
        ).all()
    )
