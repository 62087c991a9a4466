"""Storing papers: new papers, new versions of them, and their shredding."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable

from sqlalchemy import delete as sql_delete
from sqlalchemy import update
from sqlmodel import Session, col, select

from vault import audit, crypto, db
from vault.accounts.models import Citizen
from vault.blobs import objects
from vault.blobs.backend import Backend
from vault.catalog.document_types import Trust
from vault.documents import issued, recognition, resumable, uploads
from vault.documents.forms import DetailsForm
from vault.documents.models import Document, DocumentVersion
from vault.documents.reading import DocumentView, describe, get, version_row
from vault.documents.sealing import object_binding, seal_metadata
from vault.keys import wrap_data_key
from vault.kit import filenames
from vault.kit.errors import Conflict


def upload(
    session: Session,
    backend: Backend,
    *,
    owner: Citizen,
    parts: Iterable[uploads.FormPart],
    end_read: db.EndRead,
    issuer: issued.Issuer | None = None,
    before_recording: Callable[[], None] | None = None,
) -> DocumentView:
    """A new paper in the owner's vault: the citizen's own scan, or, with `issuer`, a paper an
    agency issued and signed, stored only if the signature verifies. `end_read` is called
    before the paper streams in. `before_recording` runs once the paper is stored and checked,
    before any row or audit event is written: where a caller takes its own locks (they come
    before the audit chain's). Finished resumable uploads named by `upload_id` fields are
    files of the paper like `file` parts, and are used up by it."""
    end_read()
    form = DetailsForm(signed=issuer is not None)
    consumption = resumable.Consumption(session, backend, owner, end_read)
    paper = uploads.Paper(owner.id, 1)
    received = _receive(session, backend, paper, consumption.expand(parts), form)
    document = Document(id=paper.id, owner_id=owner.id, doc_type=form.finish())
    issuance = issued.check(issuer, received, form) if issuer else None
    # Before any row: a QR code is decoded in the sandbox while no write lock is held.
    codes = recognition.codes_on(backend, received.photos) if issuer is None else []
    if before_recording is not None:
        before_recording()
    consumption.consume()
    session.add(document)
    session.flush()
    version = _add_version(session, backend, owner, document, 1, received, form, issuance)
    if issuer is None:
        recognition.start(
            session, backend, owner=owner, document=document, version=version, codes=codes
        )
        _record(session, owner, "document.upload", document, version)
    else:
        actor = ("agency", str(issuer.agency_id))
        _record(session, owner, "document.issue", document, version, actor=actor)
    return describe(session, backend, document, version)


def add_version(
    session: Session,
    backend: Backend,
    *,
    owner: Citizen,
    document_id: uuid.UUID,
    parts: Iterable[uploads.FormPart],
    end_read: db.EndRead,
) -> DocumentView:
    """A newer scan of a paper; `end_read` is called before it streams in."""
    document = get(session, owner=owner, document_id=document_id)
    current = document.current_version
    previous = describe(session, backend, document, version_row(session, document, current))
    end_read()
    form = DetailsForm(doc_type=document.doc_type)
    consumption = resumable.Consumption(session, backend, owner, end_read)
    paper = uploads.Paper(owner.id, current + 1, document.id)
    received = _receive(session, backend, paper, consumption.expand(parts), form)
    form.inherit(previous)
    form.finish()
    consumption.consume()
    codes = recognition.codes_on(backend, received.photos)
    moved = session.execute(
        update(Document)
        .where(col(Document.id) == document.id, col(Document.current_version) == current)
        .values(current_version=current + 1, updated_at=db.utc_now())
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("The paper was changed or deleted meanwhile; try again.")
    session.refresh(document)
    version = _add_version(session, backend, owner, document, current + 1, received, form)
    recognition.start(
        session, backend, owner=owner, document=document, version=version, codes=codes
    )
    _record(session, owner, "document.version", document, version)
    return describe(session, backend, document, version)


def _receive(
    session: Session,
    backend: Backend,
    paper: uploads.Paper,
    parts: Iterable[uploads.FormPart],
    form: DetailsForm,
) -> uploads.Received:
    received = uploads.receive(backend, parts, paper=paper, on_field=form.accept)
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
    issuance: issued.Issuance | None = None,
) -> DocumentVersion:
    kek_version, kek = backend.keyring.citizen_key(session, owner.id)
    content_binding = object_binding(crypto.ObjectKind.CONTENT, document.id, owner.id, number)
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
        trust=Trust.ISSUED if issuance else Trust.SELF_SCAN,
        issued_on=form.dates.get("issued_on"),
        expires_on=form.dates.get("expires_on"),
        sealed_metadata=seal_metadata(received.content.dek, content_binding, metadata),
    )
    if issuance is not None:
        version.issuer_agency_id = issuance.agency_id
        version.signature = issuance.signature
        version.signer_key_pem = issuance.key_pem
    if thumbnail is not None:
        thumb_binding = object_binding(crypto.ObjectKind.THUMBNAIL, document.id, owner.id, number)
        version.thumbnail_key = thumbnail.key
        version.thumbnail_size = thumbnail.size
        version.wrapped_thumbnail_dek = wrap_data_key(
            kek, kek_version, thumbnail.dek, thumb_binding
        )
    session.add(version)
    session.flush()
    return version


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
    *,
    actor: tuple[str, str] | None = None,
) -> None:
    details: dict[str, object] = {"doc_type": document.doc_type}
    if version is not None:
        details |= {"version": version.version, "size": version.size, "pages": version.pages}
    actor_type, actor_id = actor or ("citizen", str(owner.id))
    audit.append(
        session,
        audit.Event(
            action,
            subject=owner.id,
            actor_type=actor_type,
            actor_id=actor_id,
            document_id=document.id,
            details=details,
        ),
    )
