"""The citizen's dossiers: start one, add only what is missing, submit, follow, withdraw."""

from __future__ import annotations

import uuid
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Body, Request, status

from vault.api.deps import BackendDep, FilesPapers, SessionDep, SettingsDep, WritesDossiers
from vault.api.documents import form_limits
from vault.api.forms import streamed_form
from vault.api.schemas import UPLOAD_BODY, DossierCreate, DossierPublic
from vault.dossiers import citizen as dossiers

router = APIRouter(prefix="/dossiers", tags=["dossiers"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=DossierPublic)
def create_dossier(
    body: DossierCreate, citizen: WritesDossiers, session: SessionDep, backend: BackendDep
) -> DossierPublic:
    """Start a dossier: every required paper the vault holds and that still qualifies is
    attached; what is missing is listed with the reason; the form is prefilled."""
    view = dossiers.create(
        session, backend, owner=citizen, procedure_code=body.procedure, agency_code=body.agency
    )
    return DossierPublic.of(view)


@router.get("", response_model=list[DossierPublic])
def list_dossiers(
    citizen: WritesDossiers, session: SessionDep, backend: BackendDep
) -> list[DossierPublic]:
    return [DossierPublic.of(v) for v in dossiers.list_for(session, backend, owner=citizen)]


@router.get("/{dossier_id}", response_model=DossierPublic)
def read_dossier(
    dossier_id: uuid.UUID, citizen: WritesDossiers, session: SessionDep, backend: BackendDep
) -> DossierPublic:
    return DossierPublic.of(dossiers.view(session, backend, owner=citizen, dossier_id=dossier_id))


@router.post(
    "/{dossier_id}/attachments",
    status_code=status.HTTP_201_CREATED,
    response_model=DossierPublic,
    openapi_extra=UPLOAD_BODY,
)
async def attach_paper(
    dossier_id: uuid.UUID,
    request: Request,
    citizen: FilesPapers,
    session: SessionDep,
    backend: BackendDep,
) -> DossierPublic:
    """Upload a missing paper (file parts + doc_type, as for documents): it is stored in the
    vault, so later dossiers reuse it, and attached to this one."""
    async with streamed_form(request, form_limits(backend)) as parts:
        view = await anyio.to_thread.run_sync(
            lambda: dossiers.attach_upload(
                session,
                backend,
                owner=citizen,
                dossier_id=dossier_id,
                parts=parts,
                end_read=session.commit,
            )
        )
    return DossierPublic.of(view)


@router.delete("/{dossier_id}/attachments/{doc_type}", status_code=status.HTTP_204_NO_CONTENT)
def detach_paper(
    dossier_id: uuid.UUID, doc_type: str, citizen: WritesDossiers, session: SessionDep
) -> None:
    dossiers.detach(session, owner=citizen, dossier_id=dossier_id, doc_type=doc_type)


@router.patch("/{dossier_id}/form", response_model=DossierPublic)
def update_dossier_form(
    dossier_id: uuid.UUID,
    values: Annotated[dict[str, str | None], Body(examples=[{"ho_ten_ben_kia": "Lê Văn Bình"}])],
    citizen: WritesDossiers,
    session: SessionDep,
    backend: BackendDep,
) -> DossierPublic:
    view = dossiers.update_form(
        session, backend, owner=citizen, dossier_id=dossier_id, values=values
    )
    return DossierPublic.of(view)


@router.post("/{dossier_id}/submit", response_model=DossierPublic)
def submit_dossier(
    dossier_id: uuid.UUID,
    citizen: WritesDossiers,
    session: SessionDep,
    backend: BackendDep,
    settings: SettingsDep,
) -> DossierPublic:
    """409 listing what is missing; otherwise the agency receives a grant to exactly the
    attached papers, which ends when the dossier is closed or withdrawn."""
    view = dossiers.submit(
        session, backend, owner=citizen, dossier_id=dossier_id, public_url=settings.public_url
    )
    return DossierPublic.of(view)


@router.post("/{dossier_id}/withdraw", response_model=DossierPublic)
def withdraw_dossier(
    dossier_id: uuid.UUID, citizen: WritesDossiers, session: SessionDep, backend: BackendDep
) -> DossierPublic:
    return DossierPublic.of(
        dossiers.withdraw(session, backend, owner=citizen, dossier_id=dossier_id)
    )
