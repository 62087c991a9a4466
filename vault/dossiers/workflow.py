"""A dossier's life: its states, who may move it where, its history, and what both sides see."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from vault import audit, crypto, db, documents
from vault.accounts import citizens
from vault.agencies.models import Agency
from vault.blobs.backend import Backend
from vault.catalog import procedures
from vault.documents.models import Document, DocumentVersion
from vault.dossiers.models import (
    AttachmentReason,
    Dossier,
    DossierAttachment,
    DossierEvent,
    DossierStatus,
)
from vault.dossiers.rules import Missing
from vault.kit.errors import Conflict, NotFound
from vault.notices import texts
from vault.sharing import grants

# What an agency may move a dossier to, from where. The citizen submits and withdraws.
AGENCY_MOVES = {
    DossierStatus.PROCESSING: {DossierStatus.SUBMITTED},
    DossierStatus.NEEDS_SUPPLEMENT: {DossierStatus.SUBMITTED, DossierStatus.PROCESSING},
    DossierStatus.REJECTED: {
        DossierStatus.SUBMITTED,
        DossierStatus.PROCESSING,
        DossierStatus.NEEDS_SUPPLEMENT,
    },
    DossierStatus.COMPLETED: {DossierStatus.SUBMITTED, DossierStatus.PROCESSING},
}
_FORM_LABEL = b"dvlt/v1/dossier-form"
_NOTE_LABEL = b"dvlt/v1/dossier-note"


@dataclass(frozen=True)
class AttachmentView:
    doc_type: str
    document_id: uuid.UUID
    version: int
    reused: bool
    paper: documents.DocumentView


@dataclass(frozen=True)
class HistoryEntry:
    status: DossierStatus
    at: datetime
    actor_type: str
    note: str | None


@dataclass(frozen=True)
class DossierView:
    id: uuid.UUID
    procedure: procedures.ProcedureSpec
    agency_code: str
    agency_name: str
    status: DossierStatus
    attachments: list[AttachmentView]
    missing: list[Missing]
    form: dict[str, str | None]
    history: list[HistoryEntry]
    created_at: datetime
    submitted_at: datetime | None
    closed_at: datetime | None
    grant_id: uuid.UUID | None
    result_document_id: uuid.UUID | None
    result_deposited_at: datetime | None


def agency_of(session: Session, dossier: Dossier) -> Agency:
    agency = session.get(Agency, dossier.agency_id)
    assert agency is not None
    return agency


def reread_locked(session: Session, dossier: Dossier) -> None:
    """The dossier's row read again and locked, in place: the other side may have moved it
    since it was read (a long upload ran, say). Every change to a dossier takes this lock
    first, before the grant's row and the audit chain, so that no two changes deadlock."""
    found = session.exec(
        select(Dossier)
        .where(Dossier.id == dossier.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if found is None:  # the citizen erased their account meanwhile
        raise NotFound("This dossier no longer exists.")


def sent(dossier: Dossier) -> bool:
    """Submitted and not back with the citizen: its papers are those it was sent with, and why
    the others were not is what was found then."""
    return dossier.submitted_at is not None and not dossier.status.editable


def require_editable(dossier: Dossier) -> None:
    if not dossier.status.editable:
        raise Conflict(f"A dossier that is {dossier.status} cannot be changed.")


def move(
    session: Session,
    backend: Backend,
    dossier: Dossier,
    status: DossierStatus,
    *,
    actor: tuple[str, str],
    note: str | None = None,
) -> None:
    """Record the new state; a closed dossier's grant ends with it."""
    dossier.status = status
    dossier.updated_at = db.utc_now()
    if status.closed:
        dossier.closed_at = dossier.updated_at
        if dossier.grant_id is not None:
            completed = status == DossierStatus.COMPLETED
            grants.end(session, dossier.grant_id, actor=actor, completed=completed)
    session.add(dossier)
    event = DossierEvent(
        dossier_id=dossier.id,
        status=status,
        actor_type=actor[0],
        actor=actor[1],
        sealed_note=seal(session, backend, dossier, _NOTE_LABEL, note) if note else None,
    )
    session.add(event)
    audit.append(
        session,
        audit.Event(
            f"dossier.{status}",
            subject=dossier.citizen_id,
            actor_type=actor[0],
            actor_id=actor[1],
            grant_id=dossier.grant_id,
            agency_id=dossier.agency_id,
            details={"dossier": str(dossier.id), "procedure": dossier.procedure_code},
        ),
    )
    session.flush()
    if status in AGENCY_MOVES:
        assert event.id is not None
        notice = texts.dossier_status(
            event.id,
            dossier.id,
            status,
            procedures.get(session, dossier.procedure_code).name,
            agency_of(session, dossier).name,
            note,
        )
        citizens.announce(session, backend.keyring, dossier.citizen_id, notice)


def seal(
    session: Session, backend: Backend, dossier: Dossier, label: bytes, value: object
) -> bytes:
    _, kek = backend.keyring.citizen_key(session, dossier.citizen_id)
    data = json.dumps(value, ensure_ascii=False).encode()
    return crypto.seal(crypto.subkey(kek, label), data, aad=dossier.id.bytes)


def unseal(
    session: Session, backend: Backend, dossier: Dossier, label: bytes, box: bytes
) -> object:
    _, kek = backend.keyring.citizen_key(session, dossier.citizen_id)
    return json.loads(crypto.open_box(crypto.subkey(kek, label), box, aad=dossier.id.bytes))


def save_form(
    session: Session, backend: Backend, dossier: Dossier, form: dict[str, str | None]
) -> None:
    dossier.sealed_form = seal(session, backend, dossier, _FORM_LABEL, form)


def form_of(session: Session, backend: Backend, dossier: Dossier) -> dict[str, str | None]:
    return unseal(session, backend, dossier, _FORM_LABEL, dossier.sealed_form)  # type: ignore[return-value]


def attached(
    session: Session, dossier: Dossier
) -> list[tuple[DossierAttachment, Document, DocumentVersion]]:
    """The papers attached; once the dossier is sent, only those it was sent with."""
    query = (
        select(DossierAttachment, Document, DocumentVersion)
        .join(Document, col(Document.id) == DossierAttachment.document_id)
        .join(
            DocumentVersion,
            (col(DocumentVersion.document_id) == Document.id)
            & (col(DocumentVersion.version) == DossierAttachment.version),
        )
        .where(DossierAttachment.dossier_id == dossier.id)
    )
    if sent(dossier):
        query = query.where(DossierAttachment.reason == AttachmentReason.ATTACHED)
    return list(session.exec(query).all())


def kept_reasons(session: Session, dossier: Dossier) -> dict[str, AttachmentReason]:
    """Why each paper the dossier went without was missing, by type, when last looked for."""
    rows = session.exec(
        select(DossierAttachment).where(
            DossierAttachment.dossier_id == dossier.id,
            DossierAttachment.reason != AttachmentReason.ATTACHED,
        )
    )
    return {row.doc_type: row.reason for row in rows}


def describe(
    session: Session,
    backend: Backend,
    dossier: Dossier,
    missing: list[Missing],
) -> DossierView:
    spec = procedures.get(session, dossier.procedure_code)
    agency = agency_of(session, dossier)
    attachments = [
        AttachmentView(
            doc_type=row.doc_type,
            document_id=document.id,
            version=version.version,
            reused=row.reused,
            paper=documents.describe(session, backend, document, version),
        )
        for row, document, version in attached(session, dossier)
    ]
    events = session.exec(
        select(DossierEvent)
        .where(DossierEvent.dossier_id == dossier.id)
        .order_by(col(DossierEvent.id))
    ).all()
    history = [
        HistoryEntry(
            status=event.status,
            at=db.aware(event.at),
            actor_type=event.actor_type,
            note=unseal(session, backend, dossier, _NOTE_LABEL, event.sealed_note)  # type: ignore[arg-type]
            if event.sealed_note
            else None,
        )
        for event in events
    ]
    order = {r.doc_type: i for i, r in enumerate(spec.requirements)}
    return DossierView(
        id=dossier.id,
        procedure=spec,
        agency_code=agency.code,
        agency_name=agency.name,
        status=dossier.status,
        attachments=sorted(attachments, key=lambda a: order.get(a.doc_type, 99)),
        missing=missing,
        form=form_of(session, backend, dossier),
        history=history,
        created_at=db.aware(dossier.created_at),
        submitted_at=db.aware(dossier.submitted_at) if dossier.submitted_at else None,
        closed_at=db.aware(dossier.closed_at) if dossier.closed_at else None,
        grant_id=dossier.grant_id,
        result_document_id=dossier.result_document_id,
        result_deposited_at=db.aware(dossier.result_deposited_at)
        if dossier.result_deposited_at
        else None,
    )
