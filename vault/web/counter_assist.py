"""Hỗ trợ công dân at the counter: find the citizen by số định danh and ask to act for them; the
consent screen the citizen types their own password on; then the citizen's own pages, in this
browser, under a banner that says for whom and for how long."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from starlette.datastructures import FormData

from vault import db
from vault.accounts import acting, recovery
from vault.api.assist import consent_at_counter
from vault.api.deps import BackendDep, EngineDep, SessionDep
from vault.assist import requests
from vault.assist.models import IdentityCheck, RequestStatus
from vault.kit.errors import InvalidInput
from vault.web import security
from vault.web.counter import Officer, OnDuty
from vault.web.forms import CSRF_CHECKED, Posted, text, whole_number
from vault.web.notifications import local_time
from vault.web.pages import redirect, render

router = APIRouter(prefix="/agency/assist", include_in_schema=False)
MINUTES = (15, 30, 45, 60)


@router.get("", response_class=HTMLResponse)
def assist_page(request: Request, who: Officer) -> Response:
    response = render(
        request,
        "agency/assist.html",
        who=who,
        checks=list(IdentityCheck),
        minutes=MINUTES,
        default_minutes=acting.DEFAULT_MINUTES,
    )
    if security.cookie(request, security.ACTING) and request.query_params.get("ended"):
        security.forget(response, request, security.ACTING)
    return response


@router.post("")
def ask(form: Posted, officer: OnDuty, session: SessionDep, backend: BackendDep) -> Response:
    view = requests.ask(
        session,
        backend.keyring,
        officer,
        national_id_number=text(form, "national_id"),
        scopes=[str(value) for value in form.getlist("scopes")],
        minutes=whole_number(form, "minutes") or acting.DEFAULT_MINUTES,
        identity_check=_identity_check(form),
        note=text(form, "note") or None,
    )
    return redirect(f"/agency/assist/{view.request.id}")


@router.get("/reset", response_class=HTMLResponse)
def reset_page(request: Request, who: Officer) -> Response:
    return render(request, "agency/assist_reset.html", who=who, checks=list(IdentityCheck))


@router.post("/reset", response_class=HTMLResponse)
def reset(
    request: Request,
    form: Posted,
    who: Officer,
    officer: OnDuty,
    session: SessionDep,
    backend: BackendDep,
) -> Response:
    """A citizen who forgot their password, or a child claiming the vault a parent kept: the
    code is shown once, here, for the citizen to type on the reset page."""
    issued = recovery.issue_officer_code(
        session,
        backend.keyring,
        officer=officer,
        national_id_number=text(form, "national_id"),
        identity_check=_identity_check(form),
    )
    return render(
        request,
        "agency/assist_reset.html",
        who=who,
        checks=list(IdentityCheck),
        issued=issued,
        until=local_time(issued.expires_at),
    )


def _identity_check(form: FormData) -> IdentityCheck:
    check = text(form, "identity_check")
    if check not in {c.value for c in IdentityCheck}:
        raise InvalidInput("Say how you checked the citizen's identity.", field="identity_check")
    return IdentityCheck(check)


@router.get("/{request_id}", response_class=HTMLResponse)
def request_page(
    request: Request,
    request_id: uuid.UUID,
    who: Officer,
    officer: OnDuty,
    session: SessionDep,
    backend: BackendDep,
) -> Response:
    """Where the officer waits: the citizen answers on this counter's screen or on their own
    phone; the page says which state the request is in."""
    row = requests.for_officer(session, officer, request_id)
    view = requests.view(session, backend.keyring, row)
    return render(request, "agency/assist_request.html", who=who, view=view, Status=RequestStatus)


@router.get("/{request_id}/consent", response_class=HTMLResponse)
def consent_page(
    request: Request,
    request_id: uuid.UUID,
    who: Officer,
    officer: OnDuty,
    session: SessionDep,
    backend: BackendDep,
) -> Response:
    """Turned towards the citizen: large type, who asks, what they may do, in plain words."""
    row = requests.for_officer(session, officer, request_id)
    view = requests.view(session, backend.keyring, row)
    return render(request, "agency/assist_consent.html", who=who, view=view)


@router.post("/{request_id}/consent")
def consent(
    request: Request,
    request_id: uuid.UUID,
    form: Posted,
    officer: OnDuty,
    session: SessionDep,
    engine: EngineDep,
) -> Response:
    client = request.client.host if request.client else "unknown"
    password = str(form.get("password", ""))
    consent_at_counter(session, engine, officer, request_id, password, client)
    return redirect(f"/agency/assist/{request_id}?approved=1")


@router.post("/{request_id}/start", dependencies=[CSRF_CHECKED])
def start(
    request: Request,
    request_id: uuid.UUID,
    officer: OnDuty,
    session: SessionDep,
    backend: BackendDep,
) -> Response:
    """The acting session opens; this browser holds its token until it ends."""
    opened = requests.open_session(session, backend.keyring, officer, request_id)
    response = redirect("/")
    security.start_acting(response, request, opened.token, db.aware(opened.session.expires_at))
    return response


@router.post("/{request_id}/cancel", dependencies=[CSRF_CHECKED])
def cancel(request_id: uuid.UUID, officer: OnDuty, session: SessionDep) -> Response:
    """The citizen said no at the counter, or the officer asked for the wrong thing."""
    requests.withdraw(session, officer, request_id)
    return redirect("/agency/assist?cancelled=1")
