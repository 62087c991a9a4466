"""A citizen's papers: storing, listing, reading, replacing and shredding them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Generator, Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete as sql_delete
from sqlalchemy import update
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import Select, SelectOfScalar

from vault import audit, catalog, crypto, db, filenames, objects, uploads
from vault.backend import Backend
from vault.errors import Conflict, InvalidInput, NotFound
from vault.keys import ObjectBinding, unwrap_data_key, wrap_data_key
from vault.models import Citizen, Document, DocumentVersion

SELF_SCAN = "self_scan"
_META_KEY_LABEL = b"dvlt/v1/meta-key"
_TEXT_FIELDS = {"title": 200, "number": 64}
_DATE_FIELDS = ("issued_on", "expires_on")


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
    trust: str
    created_at: datetime
    updated_at: datetime
    filename: str
    has_thumbnail: bool


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

    def chunks(self, start: int = 0, stop: int | None = None) -> Generator[bytes]:
        return objects.read_stream(self._backend.store, self._object, self._binding, start, stop)


class DetailsForm:
    """The fields sent beside the files, checked as each one arrives so that a wrong
    document type is refused before a large file is read."""

    def __init__(self, *, doc_type: str | None = None) -> None:
        self.doc_type = doc_type
        self.text: dict[str, str | None] = {}
        self.dates: dict[str, date | None] = {}

    def accept(self, name: str, value: str) -> None:
        value = value.strip()
        if name == "doc_type":
            if self.doc_type is not None and value != self.doc_type:
                raise InvalidInput("A new version keeps the paper's document type.", field=name)
            self.doc_type = catalog.document_type(value).code
        elif name in _TEXT_FIELDS:
            if len(value) > _TEXT_FIELDS[name]:
                raise InvalidInput(
                    f"{name} has at most {_TEXT_FIELDS[name]} characters.", field=name
                )
            self.text[name] = value or None
        elif name in _DATE_FIELDS:
            try:
                self.dates[name] = date.fromisoformat(value) if value else None
            except ValueError:
                raise InvalidInput(f"{name} is a date written YYYY-MM-DD.", field=name) from None
        else:
            raise InvalidInput(f"Unknown field {name!r}.", field=name)

    def finish(self) -> str:
        if self.doc_type is None:
            raise InvalidInput(
                "doc_type is required; see GET /api/v1/document-types.", field="doc_type"
            )
        issued, expires = self.dates.get("issued_on"), self.dates.get("expires_on")
        if issued and expires and expires < issued:
            raise InvalidInput("expires_on cannot be before issued_on.", field="expires_on")
        if issued and issued > date.today():
            raise InvalidInput("issued_on cannot be in the future.", field="issued_on")
        return self.doc_type


def owned_by(owner: Citizen) -> SelectOfScalar[Document]:
    """Every query for documents starts here, so that none can forget the owner."""
    return select(Document).where(Document.owner_id == owner.id)


def _current_versions_of(owner: Citizen) -> Select[Document, DocumentVersion]:
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


def upload(
    session: Session, backend: Backend, *, owner: Citizen, parts: Iterable[uploads.FormPart]
) -> DocumentView:
    db.end_read(session)
    document = Document(id=uuid.uuid4(), owner_id=owner.id, doc_type="")
    form = DetailsForm()
    received = _receive(session, backend, owner, document.id, 1, parts, form)
    document.doc_type = form.finish()
    session.add(document)
    session.flush()
    version = _add_version(session, backend, owner, document, 1, received, form)
    _record(session, owner, "document.upload", document, version)
    return describe(session, backend, document, version)


def add_version(
    session: Session,
    backend: Backend,
    *,
    owner: Citizen,
    document_id: uuid.UUID,
    parts: Iterable[uploads.FormPart],
) -> DocumentView:
    document = get(session, owner=owner, document_id=document_id)
    current = document.current_version
    db.end_read(session)
    form = DetailsForm(doc_type=document.doc_type)
    received = _receive(session, backend, owner, document.id, current + 1, parts, form)
    form.finish()
    moved = session.execute(
        update(Document)
        .where(col(Document.id) == document.id, col(Document.current_version) == current)
        .values(current_version=current + 1, updated_at=db.utc_now())
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("The paper was changed or deleted meanwhile; try again.")
    session.refresh(document)
    version = _add_version(session, backend, owner, document, current + 1, received, form)
    _record(session, owner, "document.version", document, version)
    return describe(session, backend, document, version)


def _receive(
    session: Session,
    backend: Backend,
    owner: Citizen,
    document_id: uuid.UUID,
    version: int,
    parts: Iterable[uploads.FormPart],
    form: DetailsForm,
) -> uploads.Received:
    received = uploads.receive(
        backend,
        parts,
        content=_binding(crypto.ObjectKind.CONTENT, document_id, owner.id, version),
        thumbnail=_binding(crypto.ObjectKind.THUMBNAIL, document_id, owner.id, version),
        on_field=form.accept,
    )
    # Bytes before rows: if the rows never commit, their objects are deleted again.
    db.after_rollback(session, lambda: objects.discard_all(backend.store, received.keys))
    return received


def _add_version(
    session: Session,
    backend: Backend,
    owner: Citizen,
    document: Document,
    number: int,
    received: uploads.Received,
    form: DetailsForm,
) -> DocumentVersion:
    kek_version, kek = backend.keyring.citizen_key(session, owner.id)
    content_binding = _binding(crypto.ObjectKind.CONTENT, document.id, owner.id, number)
    thumbnail = received.thumbnail
    metadata = {
        "title": form.text.get("title"),
        "number": form.text.get("number"),
        "filename": filenames.clean(received.filename),
        "sha256": received.content.sha256,
    }
    version = DocumentVersion(
        document_id=document.id,
        version=number,
        object_key=received.content.key,
        kek_version=kek_version,
        wrapped_dek=wrap_data_key(kek, kek_version, received.content.dek, content_binding),
        content_type=received.content_type,
        size=received.content.size,
        pages=received.pages,
        trust=SELF_SCAN,
        issued_on=form.dates.get("issued_on"),
        expires_on=form.dates.get("expires_on"),
        sealed_metadata=_seal_metadata(received.content.dek, content_binding, metadata),
    )
    if thumbnail is not None:
        thumb_binding = _binding(crypto.ObjectKind.THUMBNAIL, document.id, owner.id, number)
        version.thumbnail_key = thumbnail.key
        version.thumbnail_size = thumbnail.size
        version.wrapped_thumbnail_dek = wrap_data_key(
            kek, kek_version, thumbnail.dek, thumb_binding
        )
    session.add(version)
    session.flush()
    return version


def list_documents(
    session: Session, backend: Backend, *, owner: Citizen, doc_type: str | None = None
) -> list[DocumentView]:
    query = _current_versions_of(owner)
    if doc_type is not None:
        query = query.where(Document.doc_type == catalog.document_type(doc_type).code)
    rows = session.exec(query.order_by(col(Document.updated_at).desc())).all()
    return [describe(session, backend, document, version) for document, version in rows]


def view(
    session: Session, backend: Backend, *, owner: Citizen, document_id: uuid.UUID
) -> DocumentView:
    document = get(session, owner=owner, document_id=document_id)
    return describe(
        session, backend, document, _version(session, document, document.current_version)
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
    row = _version(session, document, version or document.current_version)
    return content_of(session, backend, document, row)


def content_of(
    session: Session, backend: Backend, document: Document, row: DocumentVersion
) -> Content:
    """The paper of a version whose access was already decided by the caller."""
    binding = _binding(crypto.ObjectKind.CONTENT, document.id, document.owner_id, row.version)
    dek = _unwrap(session, backend, document.owner_id, row.kek_version, row.wrapped_dek, binding)
    metadata = _open_metadata(dek, binding, row.sealed_metadata)
    return Content(
        content_type=row.content_type,
        size=row.size,
        sha256=metadata["sha256"],
        filename=filenames.for_download(metadata["filename"], row.content_type),
        version=row.version,
        _backend=backend,
        _object=objects.StoredObject(row.object_key, dek, row.size, metadata["sha256"]),
        _binding=binding,
    )


def thumbnail(
    session: Session, backend: Backend, *, owner: Citizen, document_id: uuid.UUID
) -> bytes:
    document = get(session, owner=owner, document_id=document_id)
    row = _version(session, document, document.current_version)
    if row.thumbnail_key is None or row.wrapped_thumbnail_dek is None or row.thumbnail_size is None:
        raise NotFound("This paper has no thumbnail.")
    binding = _binding(crypto.ObjectKind.THUMBNAIL, document.id, owner.id, row.version)
    dek = _unwrap(session, backend, owner.id, row.kek_version, row.wrapped_thumbnail_dek, binding)
    stored = objects.StoredObject(row.thumbnail_key, dek, row.thumbnail_size, "")
    return objects.read_bytes(backend.store, stored, binding)


def delete(session: Session, backend: Backend, *, owner: Citizen, document_id: uuid.UUID) -> None:
    """Crypto-shredding: the rows holding the only wrapped data keys go in this transaction;
    the objects follow once it has committed (or are swept later if that fails)."""
    document = get(session, owner=owner, document_id=document_id)
    keys = shred(session, backend, [document.id])
    _record(session, owner, "document.delete", document)
    session.delete(document)
    db.after_commit(session, lambda: objects.discard_all(backend.store, keys))
    db.purge_deleted(session)


def shred(session: Session, backend: Backend, document_ids: list[uuid.UUID]) -> list[str]:
    """Delete these documents' version rows; return the object keys to delete after commit."""
    versions = session.exec(
        select(DocumentVersion).where(col(DocumentVersion.document_id).in_(document_ids))
    ).all()
    keys = [k for v in versions for k in (v.object_key, v.thumbnail_key) if k is not None]
    session.execute(
        sql_delete(DocumentVersion).where(col(DocumentVersion.document_id).in_(document_ids))
    )
    return keys


def _record(
    session: Session,
    owner: Citizen,
    action: str,
    document: Document,
    version: DocumentVersion | None = None,
) -> None:
    details: dict[str, object] = {"doc_type": document.doc_type}
    if version is not None:
        details |= {"version": version.version, "size": version.size, "pages": version.pages}
    audit.append(
        session,
        audit.Event(
            action,
            subject=owner.id,
            actor_type="citizen",
            actor_id=str(owner.id),
            document_id=document.id,
            details=details,
        ),
    )


def _version(session: Session, document: Document, number: int) -> DocumentVersion:
    row = session.get(DocumentVersion, (document.id, number))
    if row is None:
        raise NotFound("No such version of this document.")
    return row


def describe(
    session: Session, backend: Backend, document: Document, version: DocumentVersion
) -> DocumentView:
    binding = _binding(crypto.ObjectKind.CONTENT, document.id, document.owner_id, version.version)
    dek = _unwrap(
        session, backend, document.owner_id, version.kek_version, version.wrapped_dek, binding
    )
    metadata = _open_metadata(dek, binding, version.sealed_metadata)
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
    )


def _binding(
    kind: crypto.ObjectKind, document_id: uuid.UUID, owner_id: uuid.UUID, version: int
) -> ObjectBinding:
    return ObjectBinding(kind=kind, document_id=document_id, owner_id=owner_id, version=version)


def _unwrap(
    session: Session,
    backend: Backend,
    owner_id: uuid.UUID,
    kek_version: int,
    box: bytes,
    binding: ObjectBinding,
) -> bytes:
    _, kek = backend.keyring.citizen_key(session, owner_id)
    return unwrap_data_key(kek, kek_version, box, binding)


def _seal_metadata(dek: bytes, binding: ObjectBinding, metadata: dict[str, str | None]) -> bytes:
    key = crypto.subkey(dek, _META_KEY_LABEL)
    aad = crypto.metadata_aad(
        document_id=binding.document_id, owner_id=binding.owner_id, version=binding.version
    )
    return crypto.seal(key, json.dumps(metadata).encode(), aad=aad)


def _open_metadata(dek: bytes, binding: ObjectBinding, sealed: bytes) -> dict[str, str]:
    key = crypto.subkey(dek, _META_KEY_LABEL)
    aad = crypto.metadata_aad(
        document_id=binding.document_id, owner_id=binding.owner_id, version=binding.version
    )
    return json.loads(crypto.open_box(key, sealed, aad=aad))  # type: ignore[no-any-return]
