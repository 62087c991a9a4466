"""The citizen's dossiers as pages: start one for a procedure, attach papers, fill the form,
submit, withdraw."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from vault import agencies
from vault.api.deps import BackendDep, SessionDep, SettingsDep
from vault.api.documents import form_limits
from vault.catalog import document_types, procedures
from vault.dossiers import citizen as dossiers
from vault.web.citizen import MeFiling, MeFilingPapers
from vault.web.forms import CSRF_CHECKED, Posted, uploaded
from vault.web.pages import redirect, render

router = APIRouter(include_in_schema=False)


@router.get("/dossiers", response_class=HTMLResponse)
def dossiers_page(
    request: Request, me: MeFiling, session: SessionDep, backend: BackendDep
) -> Response:
    return render(
        request, "citizen/dossiers.html", dossiers=dossiers.list_for(session, backend, owner=me)
    )


@router.get("/dossiers/new", response_class=HTMLResponse)
def new_dossier_page(
    request: Request, me: MeFiling, session: SessionDep, procedure: str | None = None
) -> Response:
    catalog_ = procedures.list_all(session)
    chosen = next((p for p in catalog_ if p.code == procedure), None)
    offices = [
        a
        for a in agencies.list_all(session)
        if a.disabled_at is None and chosen is not None and a.level == chosen.agency_level
    ]
    return render(
        request, "citizen/dossier_new.html", procedures=catalog_, chosen=chosen, agencies=offices
    )


@router.post("/dossiers")
def create_dossier(
    form: Posted, me: MeFiling, session: SessionDep, backend: BackendDep
) -> Response:
    view = dossiers.create(
        session,
        backend,
        owner=me,
        procedure_code=str(form.get("procedure", "")),
        agency_code=str(form.get("agency", "")),
    )
    return redirect(f"/dossiers/{view.id}")


@router.get("/dossiers/{dossier_id}", response_class=HTMLResponse)
def dossier_page(
    request: Request, dossier_id: uuid.UUID, me: MeFiling, session: SessionDep, backend: BackendDep
) -> Response:
    view = dossiers.view(session, backend, owner=me, dossier_id=dossier_id)
    return render(
        request, "citizen/dossier.html", dossier=view, types=document_types.document_types()
    )


@router.post("/dossiers/{dossier_id}/attachments")
async def attach(
    request: Request,
    dossier_id: uuid.UUID,
    me: MeFilingPapers,
    session: SessionDep,
    backend: BackendDep,
) -> Response:
    await uploaded(
        request,
        form_limits(backend),
        lambda parts: dossiers.attach_upload(
            session, backend, owner=me, dossier_id=dossier_id, parts=parts, end_read=session.commit
        ),
    )
    return redirect(f"/dossiers/{dossier_id}#papers")


@router.post("/dossiers/{dossier_id}/form")
def save_form(
    form: Posted,
    dossier_id: uuid.UUID,
    me: MeFiling,
    session: SessionDep,
    backend: BackendDep,
) -> Response:
    values = {k: str(v) for k, v in form.items() if k.startswith("f_")}
    dossiers.update_form(
        session,
        backend,
        owner=me,
        dossier_id=dossier_id,
        values={k.removeprefix("f_"): v for k, v in values.items()},
    )
    return redirect(f"/dossiers/{dossier_id}?saved=1#form")


@router.post("/dossiers/{dossier_id}/submit", dependencies=[CSRF_CHECKED])
def submit_dossier(
    dossier_id: uuid.UUID,
    me: MeFiling,
    session: SessionDep,
    backend: BackendDep,
    settings: SettingsDep,
) -> Response:
    dossiers.submit(
        session, backend, owner=me, dossier_id=dossier_id, public_url=settings.public_url
    )
    return redirect(f"/dossiers/{dossier_id}?submitted=1")


@router.post("/dossiers/{dossier_id}/withdraw", dependencies=[CSRF_CHECKED])
def withdraw_dossier(
    dossier_id: uuid.UUID, me: MeFiling, session: SessionDep, backend: BackendDep
) -> Response:
    dossiers.withdraw(session, backend, owner=me, dossier_id=dossier_id)
    return redirect(f"/dossiers/{dossier_id}")
