"""The citizen's side of assisted service as pages: requests waiting for an answer, with big
buttons; the history of every session with what was done in it; ending a session — and, in the
counter's browser, the banner's "Kết thúc" that ends the officer's own session."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from vault.accounts import acting
from vault.api.deps import BackendDep, SessionDep
from vault.assist import requests, sessions
from vault.web import security
from vault.web.citizen import Me
from vault.web.forms import CSRF_CHECKED
from vault.web.notifications import local_time
from vault.web.pages import redirect, render

router = APIRouter(include_in_schema=False)


@router.get("/assist/requests", response_class=HTMLResponse)
def requests_page(request: Request, me: Me, session: SessionDep, backend: BackendDep) -> Response:
    pending = requests.pending_for(session, backend.keyring, me)
    return render(request, "citizen/assist_requests.html", pending=pending, local_time=local_time)


@router.post("/assist/requests/{request_id}/approve", dependencies=[CSRF_CHECKED])
def approve(request_id: uuid.UUID, me: Me, session: SessionDep) -> Response:
    requests.approve(session, me, request_id)
    return redirect("/assist/requests?approved=1")


@router.post("/assist/requests/{request_id}/decline", dependencies=[CSRF_CHECKED])
def decline(request_id: uuid.UUID, me: Me, session: SessionDep) -> Response:
    requests.decline(session, me, request_id)
    return redirect("/assist/requests?declined=1")


@router.get("/assist/history", response_class=HTMLResponse)
def history_page(request: Request, me: Me, session: SessionDep, backend: BackendDep) -> Response:
    return render(
        request,
        "citizen/assist_history.html",
        records=sessions.history(session, backend.keyring, me),
        pending=len(requests.pending_for(session, backend.keyring, me)),
        local_time=local_time,
    )


@router.post("/assist/sessions/{session_id}/end", dependencies=[CSRF_CHECKED])
def end_session(
    session_id: uuid.UUID, me: Me, session: SessionDep, backend: BackendDep
) -> Response:
    sessions.end_by(session, backend.keyring, me, session_id)
    return redirect("/assist/history?ended=1")


@router.post("/assist/end", dependencies=[CSRF_CHECKED])
def end_from_banner(request: Request, session: SessionDep, backend: BackendDep) -> Response:
    """The banner's button, in the counter's browser: the acting session ends on the server,
    and the browser forgets its token."""
    found = acting.resolve(session, (security.cookie(request, security.ACTING) or ""))
    if found is not None:
        sessions.end_by(session, backend.keyring, found, found.session.id)
    officer = found is None or found.officer is not None
    response = redirect("/agency/assist?ended=1" if officer else "/delegations?ended=1")
    security.forget(response, request, security.ACTING)
    security.forget_storage(response)
    return response


@router.get("/assist/ended", response_class=HTMLResponse)
def ended_page(request: Request) -> Response:
    """Where a browser whose acting session ended or ran out lands: it forgets the token."""
    response = render(request, "acting_ended.html")
    security.forget(response, request, security.ACTING)
    security.forget_storage(response)
    return response
