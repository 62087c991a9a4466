"""Resumable uploads (the tus protocol's state): an upload is created with its length, receives
its bytes in any number of requests, and is made into a paper by the usual intake.

Nothing readable reaches a disk. Each request's bytes are cut into pieces of at most
`PIECE_SIZE`; each piece is encrypted as it streams (DVLT, under the upload's own key, bound to
the upload, its owner and the piece's number) into one object of the store, and only once that
object is stored is the piece recorded and the offset moved, by compare-and-set, in a short
transaction. A crash loses at most the piece in flight, whose object no row names (the orphan
sweep removes it); two requests racing for one offset cannot both win. Earlier pieces are never
rewritten, so any API node can take an upload up where another left it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, update
from sqlalchemy import delete as sql_delete
from sqlmodel import Session, col, select

from storage import BlobStore
from vault import crypto, db
from vault.accounts.models import Citizen
from vault.blobs import objects
from vault.blobs.backend import Backend
from vault.documents.models import ResumableUpload, UploadPiece, UploadState
from vault.documents.sealing import open_metadata, seal_metadata
from vault.documents.uploads import FormField, FormPart
from vault.keys import ObjectBinding, unwrap_data_key, wrap_data_key
from vault.kit.errors import (
    ChecksumMismatch,
    FileTooLarge,
    InvalidInput,
    MalformedRequest,
    NotFound,
    OffsetMismatch,
    TooManyUploads,
    UploadNotReady,
    UploadQuotaExceeded,
)

PIECE_SIZE = 8 << 20
MAX_PENDING = 10
MAX_PENDING_BYTES = 2 << 30
LIFETIME = timedelta(hours=24)
CHECKSUMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256}
UPLOAD_FIELD = "upload_id"
_NAME_LIMIT = 1024


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
    """Number 0 binds the upload's key and metadata; piece n is bound as n + 1."""
    return ObjectBinding(
        kind=crypto.ObjectKind.UPLOAD, document_id=upload_id, owner_id=owner_id, version=number
    )


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
    upload_id = uuid.uuid4()
    key = crypto.new_key()
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
        created_at=now,
        updated_at=now,
        expires_at=now + LIFETIME,
    )
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


def append(
    session: Session,
    backend: Backend,
    *,
    owner: Citizen,
    upload_id: uuid.UUID,
    offset: int,
    body: Iterable[bytes],
    checksum: Checksum | None,
    commit: Callable[[], None],
) -> UploadView:
    """Receive the bytes of one request at `offset`. `commit` is the caller's unit of work's
    commit: it ends the read before the body streams in, and makes each piece count as received
    as soon as it is stored. With a checksum nothing counts until the whole body matches it."""
    row = _live(session, owner, upload_id)
    if offset != row.received:
        raise OffsetMismatch(
            f"The upload has {row.received:,} bytes; send the bytes from there (Upload-Offset)."
        )
    key = _key(session, backend, row)
    commit()
    receiving = _Receiving(backend.store, row, key, checksum)
    try:
        for piece in _pieces(body, row.length - offset):
            receiving.put(piece)
            if checksum is None:
                _record(session, backend.store, row, receiving.take())
                commit()
        receiving.verify()
        if receiving.pending:
            _record(session, backend.store, row, receiving.take())
            commit()
    except BaseException:
        objects.discard_all(backend.store, [p.object_key for p in receiving.pending])
        raise
    return UploadView.of(row)


@dataclass
class _Receiving:
    store: BlobStore
    row: ResumableUpload
    key: bytes
    checksum: Checksum | None
    pending: list[UploadPiece] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._digest = CHECKSUMS[self.checksum.algorithm]() if self.checksum else None
        self._number = self.row.pieces
        self._start = self.row.received

    def put(self, chunks: Iterator[bytes]) -> None:
        """One piece, encrypted into its own object as it streams; recorded only by `take`."""
        bound = _binding(self.row.id, self.row.owner_id, self._number + 1)
        encryptor = crypto.Encryptor(self.key, object_id=self.row.id.bytes, context=bound.context)
        object_key = objects.new_key()
        piece = UploadPiece(
            upload_id=self.row.id, number=self._number, start=self._start, size=0, object_key=""
        )
        with self.store.writer(object_key) as sink:
            sink.write(encryptor.header)
            for chunk in chunks:
                if self._digest is not None:
                    self._digest.update(chunk)
                view, step = memoryview(chunk), encryptor.chunk_size
                for start in range(0, len(view), step):
                    sink.write(encryptor.update(view[start : start + step]))
            sink.write(encryptor.finalize())
        piece.object_key, piece.size = object_key, encryptor.plaintext_size
        self.pending.append(piece)
        self._number += 1
        self._start += piece.size

    def verify(self) -> None:
        if self.checksum is None or self._digest is None:
            return
        if not hmac.compare_digest(self._digest.digest(), self.checksum.digest):
            raise ChecksumMismatch(
                "The bytes received do not match Upload-Checksum; none of them were kept."
            )

    def take(self) -> list[UploadPiece]:
        taken, self.pending = self.pending, []
        return taken


def _pieces(body: Iterable[bytes], room: int) -> Iterator[Iterator[bytes]]:
    """The body in pieces of at most PIECE_SIZE bytes; a piece starts only once a byte of it
    has arrived. More than `room` bytes is refused before any byte past it is stored."""
    chunks = iter(body)
    carry = b""
    total = 0

    def next_chunk() -> bytes:
        nonlocal carry, total
        if carry:
            chunk, carry = carry, b""
            return chunk
        for chunk in chunks:
            if chunk:
                total += len(chunk)
                if total > room:
                    raise FileTooLarge(
                        "The body goes past the upload's length (Upload-Length); "
                        "nothing past the last stored piece was kept."
                    )
                return chunk
        return b""

    def piece(first: bytes) -> Iterator[bytes]:
        nonlocal carry
        left = PIECE_SIZE
        chunk = first
        while chunk:
            if len(chunk) > left:
                carry = chunk[left:]
                yield chunk[:left]
                return
            left -= len(chunk)
            yield chunk
            if not left:
                return
            chunk = next_chunk()

    while first := next_chunk():
        yield piece(first)


def _record(
    session: Session, store: BlobStore, row: ResumableUpload, pieces: list[UploadPiece]
) -> None:
    """Count the stored pieces as received: the offset moves only from where this request found
    it, so of two requests racing for one offset the second is refused and its pieces go."""
    start = pieces[0].start
    received = start + sum(piece.size for piece in pieces)
    now = db.utc_now()
    moved = session.execute(
        update(ResumableUpload)
        .where(
            col(ResumableUpload.id) == row.id,
            col(ResumableUpload.received) == start,
            col(ResumableUpload.state) == UploadState.RECEIVING,
        )
        .values(
            received=received,
            pieces=pieces[-1].number + 1,
            updated_at=now,
            expires_at=now + LIFETIME,
            state=UploadState.COMPLETE if received == row.length else UploadState.RECEIVING,
        )
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        objects.discard_all(store, [piece.object_key for piece in pieces])
        raise OffsetMismatch("Another request moved this upload on meanwhile; ask where it is.")
    session.add_all(pieces)
    session.flush()
    row.received, row.pieces, row.expires_at = received, pieces[-1].number + 1, now + LIFETIME
    row.state = UploadState.COMPLETE if received == row.length else UploadState.RECEIVING


def terminate(session: Session, backend: Backend, *, owner: Citizen, upload_id: uuid.UUID) -> None:
    row = _live(session, owner, upload_id)
    keys = _forget(session, [row.id])
    db.after_commit(session, lambda: objects.discard_all(backend.store, keys))


def _forget(session: Session, upload_ids: list[uuid.UUID]) -> list[str]:
    """Delete these uploads and their pieces' rows; the object keys to delete after commit."""
    keys = list(
        session.exec(
            select(UploadPiece.object_key).where(col(UploadPiece.upload_id).in_(upload_ids))
        ).all()
    )
    session.execute(sql_delete(UploadPiece).where(col(UploadPiece.upload_id).in_(upload_ids)))
    session.execute(sql_delete(ResumableUpload).where(col(ResumableUpload.id).in_(upload_ids)))
    return keys


class Consumption:
    """Finished uploads named by `upload_id` fields, made into the file parts of a paper, so that
    the intake applies the same rules and checks as to a direct upload; `consume` marks them
    used in the transaction that stores the paper, and their pieces go once it commits."""

    def __init__(
        self, session: Session, backend: Backend, owner: Citizen, end_read: db.EndRead
    ) -> None:
        self._session = session
        self._backend = backend
        self._owner = owner
        self._end_read = end_read
        self._used: list[uuid.UUID] = []

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
        if upload_id in self._used:
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
        key = _key(session, self._backend, row)
        metadata = open_metadata(key, _binding(row.id, row.owner_id), row.sealed_metadata)
        pieces = list(
            session.exec(
                select(UploadPiece)
                .where(col(UploadPiece.upload_id) == row.id)
                .order_by(col(UploadPiece.number))
            ).all()
        )
        self._end_read()  # the paper's checks may take a while: no transaction is held
        self._used.append(row.id)
        return _UploadedFile(self._backend.store, row, key, pieces, metadata.get("filename"))

    def consume(self) -> None:
        """In the paper's transaction: a use that lost a race is refused, and the paper with it."""
        if not self._used:
            return
        session = self._session
        for upload_id in self._used:
            used = session.execute(
                update(ResumableUpload)
                .where(
                    col(ResumableUpload.id) == upload_id,
                    col(ResumableUpload.owner_id) == self._owner.id,
                    col(ResumableUpload.state) == UploadState.COMPLETE,
                )
                .values(state=UploadState.CONSUMED, updated_at=db.utc_now())
            )
            if used.rowcount != 1:  # type: ignore[attr-defined]
                raise UploadNotReady("This upload was already made into a paper.")
        keys = list(
            session.exec(
                select(UploadPiece.object_key).where(col(UploadPiece.upload_id).in_(self._used))
            ).all()
        )
        session.execute(sql_delete(UploadPiece).where(col(UploadPiece.upload_id).in_(self._used)))
        store = self._backend.store
        db.after_commit(session, lambda: objects.discard_all(store, keys))


class _UploadedFile:
    """A finished upload as a form's file part: its pieces decrypted in order, each verified."""

    def __init__(
        self,
        store: BlobStore,
        row: ResumableUpload,
        key: bytes,
        pieces: list[UploadPiece],
        filename: str | None,
    ) -> None:
        self.name = "file"
        self.filename: str | None = filename or "upload"
        self._store = store
        self._row = row
        self._key = key
        self._pieces = pieces
        expected = 0
        for number, piece in enumerate(pieces):
            if piece.number != number or piece.start != expected:
                raise crypto.IntegrityError("the upload's pieces are not contiguous")
            expected += piece.size
        if expected != row.length:
            raise crypto.IntegrityError("the upload's pieces do not add up to its length")

    def chunks(self) -> Iterator[bytes]:
        for piece in self._pieces:
            stored = objects.StoredObject(piece.object_key, self._key, piece.size, "")
            bound = _binding(self._row.id, self._row.owner_id, piece.number + 1)
            yield from objects.read_stream(self._store, stored, bound)


@dataclass
class ExpiryReport:
    expired: int = 0
    pieces: int = 0


def sweep_expired(engine: Engine, store: BlobStore, *, now: datetime | None = None) -> ExpiryReport:
    """Remove uploads past their time (unfinished, or finished and never made into a paper) and
    the rows of used ones; their pieces' objects go once the rows have."""
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
            keys = _forget(session, ids)
        objects.discard_all(store, keys)
        report.expired += len(ids)
        report.pieces += len(keys)


def referenced(session: Session, keys: set[str]) -> set[str]:
    """Which of these object keys hold a piece of an upload still on its way."""
    return set(
        session.exec(
            select(UploadPiece.object_key).where(col(UploadPiece.object_key).in_(keys))
        ).all()
    )
