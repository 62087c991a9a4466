"""The agency's side of a dossier: the dossiers sent to it, their papers through the dossier's
grant, their state, and the paper it issues into the citizen's vault on completion."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace

from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from vault import db, documents
from vault.accounts import citizens
from vault.accounts.models import Citizen
from vault.blobs.backend import Backend
from vault.catalog import procedures
from vault.catalog.document_types import document_type
from vault.documents import uploads
from vault.dossiers import workflow
from vault.dossiers.models import Dossier, DossierAttachment, DossierStatus
from vault.dossiers.workflow import DossierView
from vault.kit import text
from vault.kit.errors import Conflict, Gone, InvalidInput, NotFound
from vault.notices import texts
from vault.sharing import access
from vault.sharing.access import Accessor
from vault.sharing.models import Grant, GrantStatus

_NEEDS_NOTE = {DossierStatus.NEEDS_SUPPLEMENT, DossierStatus.REJECTED}
_RESULT_STATES = {DossierStatus.SUBMITTED, DossierStatus.PROCESSING, DossierStatus.COMPLETED}


@dataclass(frozen=True)
class AgencyDossierView:
    dossier: DossierView
    citizen_name: str
    citizen_national_id: str

    @property
    def moves(self) -> list[DossierStatus]:
        """The states the agency may move the dossier to now."""
        return [
            to for to, sources in workflow.AGENCY_MOVES.items() if self.dossier.status in sources
        ]

    @property
    def takes_result(self) -> bool:
        """Whether the paper the procedure issues can be deposited now."""
        dossier = self.dossier
        return (
            dossier.status in _RESULT_STATES
            and dossier.procedure.result_doc_type is not None
            and dossier.result_deposited_at is None
        )


def _sent_to(who: Accessor) -> SelectOfScalar[Dossier]:
    """The dossiers a citizen submitted to this agency: a draft, even one withdrawn before it
    was ever sent, and other agencies' dossiers do not exist here."""
    return select(Dossier).where(
        Dossier.agency_id == who.agency.id, col(Dossier.submitted_at).is_not(None)
    )


def owned(session: Session, who: Accessor, dossier_id: uuid.UUID) -> Dossier:
    dossier = session.exec(_sent_to(who).where(Dossier.id == dossier_id)).first()
    if dossier is None:
        raise NotFound("No such dossier for this agency.")
    return dossier


def _with_citizen(session: Session, backend: Backend, dossier: Dossier) -> AgencyDossierView:
    citizen = session.get(Citizen, dossier.citizen_id)
    assert citizen is not None
    profile = citizens.profile(session, backend.keyring, citizen)
    described = workflow.describe(session, backend, dossier, [])
    if dossier.status == DossierStatus.WITHDRAWN:
        # The citizen took it back: the agency keeps the fact and the history, not the content.
        described = replace(described, form={}, attachments=[])
    return AgencyDossierView(
        dossier=described,
        citizen_name=profile.full_name,
        citizen_national_id=citizens.national_id_of(session, backend.keyring, citizen),
    )


def list_for(
    session: Session, backend: Backend, *, who: Accessor, status: str | None = None
) -> list[AgencyDossierView]:
    """`status`: as the caller gave it; one that names no state matches no dossier."""
    query = _sent_to(who)
    if status is not None:
        query = query.where(Dossier.status == status)
    rows = session.exec(query.order_by(col(Dossier.submitted_at).desc())).all()
    return [_with_citizen(session, backend, dossier) for dossier in rows]


def view(
    session: Session, backend: Backend, *, who: Accessor, dossier_id: uuid.UUID
) -> AgencyDossierView:
    return _with_citizen(session, backend, owned(session, who, dossier_id))


def set_status(
    session: Session,
    backend: Backend,
    *,
    who: Accessor,
    dossier_id: uuid.UUID,
    status: str,
    note: str | None,
) -> AgencyDossierView:
    dossier = owned(session, who, dossier_id)
    workflow.reread_locked(session, dossier)
    if status not in workflow.AGENCY_MOVES:
        moves = ", ".join(workflow.AGENCY_MOVES)
        raise InvalidInput(f"An agency sets one of: {moves}.", field="status")
    wanted = DossierStatus(status)
    if dossier.status not in workflow.AGENCY_MOVES[wanted]:
        raise Conflict(f"A dossier that is {dossier.status} cannot become {wanted}.")
    note = text.one_line(note) or None
    if wanted in _NEEDS_NOTE and note is None:
        raise InvalidInput("Say what is needed, or why the dossier is rejected.", field="note")
    workflow.move(session, backend, dossier, wanted, actor=who.actor, note=note)
    return _with_citizen(session, backend, dossier)


def fetch_document(
    session: Session,
    backend: Backend,
    *,
    who: Accessor,
    dossier_id: uuid.UUID,
    document_id: uuid.UUID,
    end_read: db.EndRead,
    stamp: bool = False,
) -> access.Delivery:
    """Through the dossier's grant: only the papers attached now (one the citizen took out
    while supplementing is out of reach at once), only while the dossier is open."""
    dossier = owned(session, who, dossier_id)
    grant = session.get(Grant, dossier.grant_id) if dossier.grant_id else None
    if grant is None:
        raise Gone("This dossier no longer gives access to papers.", reason=GrantStatus.REVOKED)
    access.live(session, who, grant, "share.download", document_id)
    attached = session.exec(
        select(DossierAttachment.doc_type).where(
            DossierAttachment.dossier_id == dossier.id,
            DossierAttachment.document_id == document_id,
        )
    ).first()
    if attached is None:
        access.refuse(session, who, grant, "share.download", "not_attached", document_id)
        raise NotFound("This paper is not attached to the dossier.")
    return access.deliver(
        session,
        backend,
        who=who,
        grant=grant,
        document_id=document_id,
        end_read=end_read,
        stamp=stamp,
    )


def deposit_result(
    session: Session,
    backend: Backend,
    *,
    who: Accessor,
    dossier_id: uuid.UUID,
    parts: Iterable[uploads.FormPart],
    end_read: db.EndRead,
) -> documents.DocumentView:
    """The paper the agency issues, signed, straight into the citizen's vault as `issued`:
    once per dossier, of the type its procedure issues."""
    dossier = owned(session, who, dossier_id)
    _require_result_open(dossier)
    if who.agency.signing_key_pem is None:
        raise Conflict("Register the agency's signing key first (vault agency set-key).")
    spec = procedures.get(session, dossier.procedure_code)
    if spec.result_doc_type is None:
        raise Conflict(f"{spec.name} issues no paper into the vault.")
    citizen = session.get(Citizen, dossier.citizen_id)
    assert citizen is not None
    issuer = documents.Issuer(who.agency.id, who.agency.signing_key_pem, spec.result_doc_type)

    def still_open() -> None:
        workflow.reread_locked(session, dossier)
        _require_result_open(dossier)

    paper = documents.upload(
        session,
        backend,
        owner=citizen,
        parts=parts,
        end_read=end_read,
        issuer=issuer,
        before_recording=still_open,
    )
    dossier.result_document_id = paper.id
    dossier.result_deposited_at = db.utc_now()
    session.add(dossier)
    notice = texts.result_deposited(
        dossier.id,
        paper.id,
        spec.name,
        who.agency.name,
        document_type(spec.result_doc_type).name_vi,
    )
    citizens.announce(session, backend.keyring, citizen.id, notice)
    return paper


def _require_result_open(dossier: Dossier) -> None:
    if dossier.status not in _RESULT_STATES:
        raise Conflict(f"A dossier that is {dossier.status} takes no result.")
    if dossier.result_deposited_at is not None:
        raise Conflict(
            "This dossier's result was deposited already; a dossier takes its result once."
        )
