"""The agency counter (bộ phận một cửa): an officer logs in with their own account, opens the
share a citizen shows, sees and downloads its papers, and works on the agency's dossiers."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse

from vault import db
from vault.accounts import officers
from vault.api.deps import BackendDep, EngineDep, SessionDep, SettingsDep
from vault.api.documents import form_limits
from vault.api.downloads import delivery_response
from vault.catalog import document_types
from vault.dossiers import agency as dossiers
from vault.dossiers.models import DossierStatus
from vault.sharing import access
from vault.sharing.access import Accessor
from vault.web import security
from vault.web.forms import CSRF_CHECKED, Posted, signed_out, uploaded
from vault.web.pages import local_path, redirect, render

router = APIRouter(prefix="/agency", include_in_schema=False)
# Every state a dossier sent to the agency can be in.
STATUSES = tuple(s for s in DossierStatus if s != DossierStatus.DRAFT)


def officer_session(request: Request, session: SessionDep) -> officers.OfficerSession:
    token = security.cookie(request, security.OFFICER)
    found = officers.session_for_token(session, token) if token else None
    if found is None:
        raise security.LoginRequired(f"/agency/login?next={request.url.path}")
    request.state.officer = found.officer
    return found


OnDuty = Annotated[officers.OfficerSession, Depends(officer_session)]


def on_duty(found: OnDuty) -> Accessor:
    return Accessor(found.agency, officer=found.officer.username)


Officer = Annotated[Accessor, Depends(on_duty)]


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/agency") -> Response:
    return render(request, "agency/login.html", next=local_path(next, under="/agency"))


@router.post("/login")
def login(
    request: Request, form: Posted, session: SessionDep, engine: EngineDep, settings: SettingsDep
) -> Response:
    username = str(form.get("username", ""))
    client = request.client.host if request.client else "unknown"
    # Counted in a unit of work of its own, committed before the password is checked: the
    # count holds when the login is refused and this request rolls back.
    with db.unit_of_work(engine) as counting:
        attempt = officers.count_login(counting, username=username, client=client)
    ttl = settings.web_session_ttl_seconds
    token = officers.log_in(
        session,
        attempt=attempt,
        username=username,
        password=str(form.get("password", "")),
        ttl_seconds=ttl,
    )
    response = redirect(local_path(str(form.get("next") or ""), under="/agency"))
    security.set_cookie(response, request, security.OFFICER, token, max_age=ttl)
    return response


@router.post("/logout", dependencies=[CSRF_CHECKED])
def logout(request: Request, session: SessionDep) -> Response:
    return signed_out(
        request, security.OFFICER, lambda token: officers.log_out(session, token), "/agency/login"
    )


@router.get("", response_class=HTMLResponse)
def home(request: Request, who: Officer) -> Response:
    return render(request, "agency/home.html", who=who)


@router.post("/open")
def open_code(form: Posted, who: Officer) -> Response:
    """What the officer typed or scanned: the whole share link, or just its code. Posted, so
    that the code is not in the request's own address; the share page it leads to carries it,
    as the QR link does, and only an officer of the grant's agency opens anything there."""
    token = str(form.get("code", "")).strip().rstrip("/").rsplit("/", 1)[-1]
    return redirect(f"/agency/share/{token}" if token else "/agency")


@router.get("/share/{token}", response_class=HTMLResponse)
def share_page(
    request: Request, token: str, who: Officer, session: SessionDep, backend: BackendDep
) -> Response:
    view = access.open_share(session, backend, who=who, token=token, end_read=session.commit)
    return render(
        request,
        "agency/share.html",
        view=view,
        token=token,
        preview_pages=access.PREVIEW_PAGES,
        types=document_types.document_types(),
        who=who,
    )


@router.get("/share/{token}/papers/{paper_id}")
def share_paper(
    request: Request,
    token: str,
    paper_id: uuid.UUID,
    who: Officer,
    session: SessionDep,
    backend: BackendDep,
    stamped: bool = False,
    page: int | None = None,
) -> Response:
    """The original; `stamped=1` the stamped copy; `page=N` one stamped page, shown inline."""
    delivery = access.fetch(
        session,
        backend,
        who=who,
        token=token,
        document_id=paper_id,
        end_read=session.commit,
        stamp=stamped,
        page=page,
    )
    # A stamped photo is shown in the page; a PDF is saved, to open in a real PDF reader.
    return delivery_response(request, delivery, inline=delivery.stamped_type.startswith("image/"))


@router.get("/dossiers", response_class=HTMLResponse)
def dossiers_page(
    request: Request,
    who: Officer,
    session: SessionDep,
    backend: BackendDep,
    status: str | None = None,
) -> Response:
    chosen = status if status in STATUSES else None
    rows = dossiers.list_for(session, backend, who=who, status=chosen)
    return render(
        request, "agency/dossiers.html", rows=rows, status=chosen, statuses=STATUSES, who=who
    )


@router.get("/dossiers/{dossier_id}", response_class=HTMLResponse)
def dossier_page(
    request: Request,
    dossier_id: uuid.UUID,
    who: Officer,
    session: SessionDep,
    backend: BackendDep,
) -> Response:
    view = dossiers.view(session, backend, who=who, dossier_id=dossier_id)
    return render(request, "agency/dossier.html", view=view, who=who)


@router.get("/dossiers/{dossier_id}/papers/{paper_id}")
def dossier_paper(
    request: Request,
    dossier_id: uuid.UUID,
    paper_id: uuid.UUID,
    who: Officer,
    session: SessionDep,
    backend: BackendDep,
) -> Response:
    delivery = dossiers.fetch_document(
        session,
        backend,
        who=who,
        dossier_id=dossier_id,
        document_id=paper_id,
        end_read=session.commit,
    )
    return delivery_response(request, delivery)


@router.post("/dossiers/{dossier_id}/status")
def set_status(
    form: Posted,
    dossier_id: uuid.UUID,
    who: Officer,
    session: SessionDep,
    backend: BackendDep,
) -> Response:
    dossiers.set_status(
        session,
        backend,
        who=who,
        dossier_id=dossier_id,
        status=str(form.get("status", "")),
        note=str(form.get("note") or "") or None,
    )
    return redirect(f"/agency/dossiers/{dossier_id}?moved=1")


@router.post("/dossiers/{dossier_id}/result")
async def deposit_result(
    request: Request,
    dossier_id: uuid.UUID,
    who: Officer,
    session: SessionDep,
    backend: BackendDep,
) -> Response:
    await uploaded(
        request,
        form_limits(backend),
        lambda parts: dossiers.deposit_result(
            session, backend, who=who, dossier_id=dossier_id, parts=parts, end_read=session.commit
        ),
    )
    return redirect(f"/agency/dossiers/{dossier_id}?deposited=1")
