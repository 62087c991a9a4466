"""The agency's dossiers: those sent to it, their papers, their state, and the result paper."""

from __future__ import annotations

import uuid

import anyio.to_thread
from fastapi import APIRouter, Request, Response, status

from vault.api.deps import BackendDep, CurrentAgency, SessionDep
from vault.api.documents import form_limits
from vault.api.downloads import delivery_response
from vault.api.forms import streamed_form
from vault.api.schemas import (
    RESULT_BODY,
    AgencyDossierPublic,
    CitizenRef,
    DocumentPublic,
    StatusChange,
)
from vault.dossiers import agency as dossiers
from vault.dossiers.agency import AgencyDossierView

router = APIRouter(prefix="/agency/dossiers", tags=["agency"])


def _public(view: AgencyDossierView) -> AgencyDossierPublic:
    citizen = CitizenRef(full_name=view.citizen_name, national_id=view.citizen_national_id)
    return AgencyDossierPublic.of(view.dossier, citizen=citizen)


@router.get("", response_model=list[AgencyDossierPublic])
def list_agency_dossiers(
    who: CurrentAgency,
    session: SessionDep,
    backend: BackendDep,
    status: str | None = None,
) -> list[AgencyDossierPublic]:
    """The dossiers submitted to this agency, newest first; `?status=` filters."""
    return [_public(v) for v in dossiers.list_for(session, backend, who=who, status=status)]


@router.get("/{dossier_id}", response_model=AgencyDossierPublic)
def read_agency_dossier(
    dossier_id: uuid.UUID, who: CurrentAgency, session: SessionDep, backend: BackendDep
) -> AgencyDossierPublic:
    return _public(dossiers.view(session, backend, who=who, dossier_id=dossier_id))


@router.get("/{dossier_id}/documents/{document_id}/content", response_class=Response)
def fetch_dossier_document(
    dossier_id: uuid.UUID,
    document_id: uuid.UUID,
    request: Request,
    who: CurrentAgency,
    session: SessionDep,
    backend: BackendDep,
    watermark: bool = False,
) -> Response:
    """A paper of the dossier, through the dossier's grant; counted and audited."""
    delivery = dossiers.fetch_document(
        session,
        backend,
        who=who,
        dossier_id=dossier_id,
        document_id=document_id,
        end_read=session.commit,
        stamp=watermark,
    )
    return delivery_response(request, delivery)


@router.post("/{dossier_id}/status", response_model=AgencyDossierPublic)
def set_dossier_status(
    dossier_id: uuid.UUID,
    body: StatusChange,
    who: CurrentAgency,
    session: SessionDep,
    backend: BackendDep,
) -> AgencyDossierPublic:
    """processing, needs_supplement (with a note), rejected (with a reason) or completed;
    an illegal move is 409. A closed dossier's grant ends with it."""
    view = dossiers.set_status(
        session, backend, who=who, dossier_id=dossier_id, status=body.status, note=body.note
    )
    return _public(view)


@router.post(
    "/{dossier_id}/result",
    status_code=status.HTTP_201_CREATED,
    response_model=DocumentPublic,
    openapi_extra=RESULT_BODY,
)
async def deposit_dossier_result(
    dossier_id: uuid.UUID,
    request: Request,
    who: CurrentAgency,
    session: SessionDep,
    backend: BackendDep,
) -> DocumentPublic:
    """The issued paper (one PDF) with doc_type, number, issued_on, expires_on and
    `signature`: base64 of the agency's detached signature over the PDF's SHA-256. It lands in
    the citizen's vault as `issued`; a signature that does not verify is 422, nothing stored."""
    async with streamed_form(request, form_limits(backend)) as parts:
        paper = await anyio.to_thread.run_sync(
            lambda: dossiers.deposit_result(
                session,
                backend,
                who=who,
                dossier_id=dossier_id,
                parts=parts,
                end_read=session.commit,
            )
        )
    return DocumentPublic.of(paper)
