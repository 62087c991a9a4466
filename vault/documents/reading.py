"""Reading papers: every query starts from the owner, so another citizen's paper is never found."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Generator
from concurrent import futures
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Engine
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import Select, SelectOfScalar

from storage import BlobNotFound
from vault import audit, crypto, db
from vault.accounts.models import Citizen
from vault.agencies.models import Agency
from vault.audit.models import Outcome
from vault.blobs import objects
from vault.blobs.backend import Backend
from vault.catalog import document_types
from vault.catalog.document_types import Trust
from vault.documents.models import Document, DocumentVersion
from vault.documents.sealing import data_key, object_binding, open_metadata
from vault.keys import ObjectBinding
from vault.kit import filenames
from vault.kit.errors import NotFound

log = logging.getLogger("vault.documents")


@dataclass(frozen=True)
class DocumentView:
    id: uuid.UUID
    doc_type: str
    title: str | None
    number: str | None
    content_type: str
    size: int
    sha256: str
    pages: int
    version: int
    issued_on: date | None
    expires_on: date | None
    trust: Trust
    created_at: datetime
    updated_at: datetime
    filename: str
    has_thumbnail: bool
    issuer_code: str | None = None
    issuer_name: str | None = None


@dataclass(frozen=True)
class Content:
    """A paper ready to stream: what a response needs to describe it, and its verified bytes."""

    content_type: str
    size: int
    sha256: str
    filename: str
    version: int
    _backend: Backend
    _object: objects.StoredObject
    _binding: ObjectBinding
    _engine: Engine

    def chunks(self, start: int = 0, stop: int | None = None) -> Generator[bytes]:
        """A paper that fails its check, or whose object is gone while its row is not, is
        written into its owner's audit chain (in a transaction of its own: the request's is
        rolled back, or the answer is already under way)."""
        try:
            stream = objects.read_stream(
                self._backend.store, self._object, self._binding, start, stop
            )
        except (crypto.IntegrityError, BlobNotFound) as error:
            self._failed(error)
            raise
        return self._watched(stream)

    def _watched(self, stream: Generator[bytes]) -> Generator[bytes]:
        try:
            yield from stream
        except (crypto.IntegrityError, BlobNotFound) as error:
            self._failed(error)
            raise

    def _failed(self, error: Exception) -> None:
        # From a thread of its own: the reader's transaction may hold SQLite's write lock.
        _RECORDING.submit(_record_failure, self._engine, self._object.key, error)


# One thread: failures come rarely, and each waits its turn at the database.
_RECORDING = futures.ThreadPoolExecutor(1, thread_name_prefix="vault-integrity")


def _record_failure(engine: Engine, key: str, error: Exception) -> None:
    try:
        with db.unit_of_work(engine) as session:
            record_failure(session, key, error)
    except Exception:
        log.exception("an integrity failure could not be audited")


def record_failure(session: Session, key: str, error: Exception) -> None:
    """`document.integrity_failure` in the owner's chain, unless the paper was deleted while it
    was being read (its object gone with its row: the owner's own doing, not damage)."""
    row = session.exec(
        select(Document.id, Document.owner_id, DocumentVersion.version)
        .join(DocumentVersion, col(DocumentVersion.document_id) == Document.id)
        .where(col(DocumentVersion.object_key) == key)
    ).first()
    if row is None:
        return
    document_id, owner_id, version = row
    missing = isinstance(error, BlobNotFound)
    audit.append(
        session,
        audit.Event(
            "document.integrity_failure",
            subject=owner_id,
            actor_type="system",
            outcome=Outcome.DENIED,
            reason="missing-from-store" if missing else "failed-check",
            document_id=document_id,
            details={"version": version},
        ),
    )


def owned_by(owner: Citizen) -> SelectOfScalar[Document]:
    """Every query for documents starts here, so that none can forget the owner."""
    return select(Document).where(Document.owner_id == owner.id)


def current_versions_of(owner: Citizen) -> Select[Document, DocumentVersion]:
    return (
        select(Document, DocumentVersion)
        .join(
            DocumentVersion,
            (col(DocumentVersion.document_id) == Document.id)
            & (col(DocumentVersion.version) == Document.current_version),
        )
        .where(Document.owner_id == owner.id)
    )


def get(session: Session, *, owner: Citizen, document_id: uuid.UUID) -> Document:
    document = session.exec(owned_by(owner).where(Document.id == document_id)).first()
    if document is None:
        raise NotFound("No such document.")
    return document


def list_documents(
    session: Session, backend: Backend, *, owner: Citizen, doc_type: str | None = None
) -> list[DocumentView]:
    query = current_versions_of(owner)
    if doc_type is not None:
        query = query.where(Document.doc_type == document_types.document_type(doc_type).code)
    rows = session.exec(query.order_by(col(Document.updated_at).desc())).all()
    return [describe(session, backend, document, version) for document, version in rows]


def view(
    session: Session, backend: Backend, *, owner: Citizen, document_id: uuid.UUID
) -> DocumentView:
    document = get(session, owner=owner, document_id=document_id)
    return describe(
        session, backend, document, version_row(session, document, document.current_version)
    )


def list_versions(
    session: Session, backend: Backend, *, owner: Citizen, document_id: uuid.UUID
) -> list[DocumentView]:
    document = get(session, owner=owner, document_id=document_id)
    versions = session.exec(
        select(DocumentVersion)
        .where(DocumentVersion.document_id == document.id)
        .order_by(col(DocumentVersion.version).desc())
    ).all()
    return [describe(session, backend, document, version) for version in versions]


def open_content(
    session: Session,
    backend: Backend,
    *,
    owner: Citizen,
    document_id: uuid.UUID,
    version: int | None = None,
) -> Content:
    document = get(session, owner=owner, document_id=document_id)
    row = version_row(session, document, document.current_version if version is None else version)
    if audit.acting(session) is not None:
        # The citizen's own reads are theirs alone; a read by someone acting for them is told.
        audit.append_apart(
            session,
            audit.Event(
                "document.read",
                subject=owner.id,
                actor_type="citizen",
                actor_id=str(owner.id),
                document_id=document.id,
                details={"doc_type": document.doc_type, "version": row.version},
            ),
        )
    return content_of(session, backend, document, row)


def content_of(
    session: Session, backend: Backend, document: Document, row: DocumentVersion
) -> Content:
    """The paper of a version whose access was already decided by the caller."""
    binding = object_binding(crypto.ObjectKind.CONTENT, document.id, document.owner_id, row.version)
    dek = data_key(session, backend, document.owner_id, row.kek_version, row.wrapped_dek, binding)
    metadata = open_metadata(dek, binding, row.sealed_metadata)
    return Content(
        content_type=row.content_type,
        size=row.size,
        sha256=metadata["sha256"],
        filename=filenames.for_download(metadata["filename"], row.content_type),
        version=row.version,
        _backend=backend,
        _object=objects.StoredObject(row.object_key, dek, row.size, metadata["sha256"]),
        _binding=binding,
        _engine=session.get_bind(),  # type: ignore[arg-type]
    )


def thumbnail(
    session: Session, backend: Backend, *, owner: Citizen, document_id: uuid.UUID
) -> bytes:
    document = get(session, owner=owner, document_id=document_id)
    row = version_row(session, document, document.current_version)
    if row.thumbnail_key is None or row.wrapped_thumbnail_dek is None or row.thumbnail_size is None:
        raise NotFound("This paper has no thumbnail.")
    binding = object_binding(crypto.ObjectKind.THUMBNAIL, document.id, owner.id, row.version)
    dek = data_key(session, backend, owner.id, row.kek_version, row.wrapped_thumbnail_dek, binding)
    stored = objects.StoredObject(row.thumbnail_key, dek, row.thumbnail_size, "")
    return objects.read_bytes(backend.store, stored, binding)


def version_row(session: Session, document: Document, number: int) -> DocumentVersion:
    # Versions run 1..current; any other number is not looked up (a huge one would not even
    # fit the database's integer).
    known = 0 < number <= document.current_version
    row = session.get(DocumentVersion, (document.id, number)) if known else None
    if row is None:
        raise NotFound("No such version of this document.")
    return row


def describe(
    session: Session, backend: Backend, document: Document, version: DocumentVersion
) -> DocumentView:
    binding = object_binding(
        crypto.ObjectKind.CONTENT, document.id, document.owner_id, version.version
    )
    dek = data_key(
        session, backend, document.owner_id, version.kek_version, version.wrapped_dek, binding
    )
    metadata = open_metadata(dek, binding, version.sealed_metadata)
    issuer = session.get(Agency, version.issuer_agency_id) if version.issuer_agency_id else None
    return DocumentView(
        id=document.id,
        doc_type=document.doc_type,
        title=metadata["title"],
        number=metadata["number"],
        content_type=version.content_type,
        size=version.size,
        sha256=metadata["sha256"],
        pages=version.pages,
        version=version.version,
        issued_on=version.issued_on,
        expires_on=version.expires_on,
        trust=version.trust,
        created_at=document.created_at,
        updated_at=version.created_at,
        filename=filenames.for_download(metadata["filename"], version.content_type),
        has_thumbnail=version.thumbnail_key is not None,
        issuer_code=issuer.code if issuer else None,
        issuer_name=issuer.name if issuer else None,
    )
