"""The citizen's pages: signing up and in, the home page and the profile, one task per page, in
large type and plain Vietnamese words. Papers, shares and dossiers have their pages beside it."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, Security
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse
from fastapi.security import SecurityScopes
from sqlmodel import Session

from vault import audit, db, documents, export
from vault.accounts import acting, citizens, officers
from vault.accounts.acting import Acting
from vault.accounts.models import Citizen, Scope
from vault.api.deps import BackendDep, EngineDep, SessionDep, SettingsDep
from vault.api.downloads import content_disposition, protective_headers
from vault.assist import requests as assist_requests
from vault.catalog import document_types
from vault.kit.errors import Forbidden, NotWhileActing
from vault.notices import inbox
from vault.web import security
from vault.web.forms import CSRF_CHECKED, Posted, day, signed_out
from vault.web.i18n import LANGUAGES
from vault.web.pages import local_path, redirect, render

router = APIRouter(include_in_schema=False)
SHARE_DAYS = (1, 3, 7, 30, 90)
EXPORT_NAME = "giay-to-cua-toi.zip"


def signed_in(
    security_scopes: SecurityScopes, request: Request, session: SessionDep, backend: BackendDep
) -> Citizen:
    """The citizen of these pages: signed in themselves, or an officer acting for them from the
    counter's browser. A page that declares no scope is the citizen's alone."""
    if security.cookie(request, security.ACTING):
        found = _acting(request, session, backend)
        missing = set(security_scopes.scopes) - {scope.value for scope in found.scopes}
        if not security_scopes.scopes or missing:
            raise NotWhileActing("Only the citizen can do this, not someone acting for them.")
        return found.citizen
    token = security.cookie(request, security.SESSION)
    citizen = citizens.citizen_for_token(session, token) if token else None
    if citizen is None:
        raise security.LoginRequired(f"/login?next={request.url.path}")
    return citizen


def _held_here(request: Request, session: SessionDep, found: Acting) -> bool:
    """An acting cookie works only beside its holder's own login in the same browser: an
    officer who logged out, or a delegate who did, leaves nothing the next person can use."""
    if found.officer is not None:
        token = security.cookie(request, security.OFFICER)
        on_duty = officers.session_for_token(session, token) if token else None
        return on_duty is not None and on_duty.officer.id == found.officer.id
    token = security.cookie(request, security.SESSION)
    holder = citizens.citizen_for_token(session, token) if token else None
    return holder is not None and found.delegate is not None and holder.id == found.delegate.id


def _acting(request: Request, session: SessionDep, backend: BackendDep) -> Acting:
    """The live acting session of the counter's browser, now recorded as acting; an ended one
    sends the officer back to the counter."""
    found = acting.resolve(session, (security.cookie(request, security.ACTING) or ""))
    if found is None or not _held_here(request, session, found):
        raise security.LoginRequired("/assist/ended")
    audit.act_for(session, found.actor)
    left = (db.aware(found.session.expires_at) - db.utc_now()).total_seconds()
    # Plain values: an error page renders it after the transaction has been rolled back.
    request.state.banner = {
        "id": found.session.id,
        "name": citizens.profile(session, backend.keyring, found.citizen).full_name,
        "minutes": max(1, math.ceil(left / 60)),
        "scopes": {scope.value for scope in found.scopes},
        "officer": found.officer is not None,
    }
    request.state.acting = found
    return found


def page_citizen(request: Request, session: Session, scopes: list[str]) -> Citizen | None:
    """The citizen of the browser's page session, for the JSON routes a page's script calls
    (the resumable uploads): None without one. A method that changes something must carry
    the page's CSRF token in an X-CSRF-Token header (the cookies alone prove nothing)."""
    if not (
        security.cookie(request, security.SESSION) or security.cookie(request, security.ACTING)
    ):
        return None
    if request.method not in {"GET", "HEAD", "OPTIONS"}:
        try:
            security.check_csrf(request, request.headers.get("x-csrf-token"))
        except security.CsrfRejected:
            raise Forbidden("The page's CSRF token is missing or wrong; reload the page.") from None
    try:
        return signed_in(SecurityScopes(scopes), request, session, request.app.state.backend)
    except security.LoginRequired:
        return None


# The citizen in person; then the pages someone acting for them may open, by scope.
Me = Annotated[Citizen, Depends(signed_in)]
MeReading = Annotated[Citizen, Security(signed_in, scopes=[Scope.DOCUMENTS_READ])]
MeWriting = Annotated[Citizen, Security(signed_in, scopes=[Scope.DOCUMENTS_WRITE])]
MeSharing = Annotated[Citizen, Security(signed_in, scopes=[Scope.GRANTS_WRITE])]
# As on the API (vault.api.deps): showing papers to an agency takes documents:read too.
MeSharingPapers = Annotated[
    Citizen, Security(signed_in, scopes=[Scope.GRANTS_WRITE, Scope.DOCUMENTS_READ])
]
MeFiling = Annotated[
    Citizen, Security(signed_in, scopes=[Scope.DOSSIERS_WRITE, Scope.DOCUMENTS_READ])
]
MeFilingPapers = Annotated[
    Citizen,
    Security(signed_in, scopes=[Scope.DOSSIERS_WRITE, Scope.DOCUMENTS_READ, Scope.DOCUMENTS_WRITE]),
]


@router.get("/lang/{language}")
def choose_language(request: Request, language: str, next: str = "/") -> RedirectResponse:
    response = redirect(local_path(next))
    if language in LANGUAGES:
        security.set_cookie(response, request, security.LANGUAGE, language, max_age=365 * 86400)
    return response


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep, backend: BackendDep) -> Response:
    if security.cookie(request, security.ACTING):
        return _acting_home(request, session, backend)
    token = security.cookie(request, security.SESSION)
    citizen = citizens.citizen_for_token(session, token) if token else None
    if citizen is None:
        return render(request, "citizen/welcome.html")
    profile = citizens.profile(session, backend.keyring, citizen)
    return render(
        request,
        "citizen/home.html",
        groups=_papers_by_type(session, backend, citizen),
        types=document_types.document_types(),
        name=profile.full_name,
        unread=inbox.unread_count(session, citizen.id),
        pending=len(assist_requests.pending_for(session, backend.keyring, citizen)),
    )


def _acting_home(request: Request, session: SessionDep, backend: BackendDep) -> Response:
    """The same home under the acting banner; the papers only when the session may see them."""
    found = _acting(request, session, backend)
    readable = Scope.DOCUMENTS_READ in found.scopes
    return render(
        request,
        "citizen/home.html",
        groups=_papers_by_type(session, backend, found.citizen) if readable else {},
        types=document_types.document_types(),
        name=request.state.banner["name"],
        unread=0,
        pending=0,
    )


def _papers_by_type(
    session: SessionDep, backend: BackendDep, citizen: Citizen
) -> dict[str, list[documents.DocumentView]]:
    groups: dict[str, list[documents.DocumentView]] = {}
    for paper in documents.list_documents(session, backend, owner=citizen):
        groups.setdefault(paper.doc_type, []).append(paper)
    return groups


@router.get("/signup", response_class=HTMLResponse)
def signup_page(request: Request) -> Response:
    return render(request, "citizen/signup.html")


@router.post("/signup")
def signup(
    request: Request, form: Posted, session: SessionDep, engine: EngineDep, backend: BackendDep
) -> Response:
    # Counted in a unit of work of its own: the count holds when the sign-up is refused.
    with db.unit_of_work(engine) as counting:
        citizens.count_signup(counting, client=request.client.host if request.client else "unknown")
    citizens.register(
        session,
        backend.keyring,
        national_id_number=str(form.get("national_id", "")),
        full_name=str(form.get("full_name", "")),
        password=str(form.get("password", "")),
        phone=str(form.get("phone") or "") or None,
    )
    return render(request, "citizen/login.html", welcome=True, national_id=form.get("national_id"))


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> Response:
    return render(request, "citizen/login.html", next=local_path(next))


@router.post("/login")
def login(
    request: Request,
    form: Posted,
    session: SessionDep,
    engine: EngineDep,
    backend: BackendDep,
    settings: SettingsDep,
) -> Response:
    number = str(form.get("national_id", ""))
    client = request.client.host if request.client else "unknown"
    # Counted in a unit of work of its own, committed before the password is checked: the
    # count holds when the login is refused and this request rolls back.
    with db.unit_of_work(engine) as counting:
        attempt = citizens.count_login(
            counting, backend.keyring, national_id_number=number, client=client
        )
    citizen = citizens.authenticate(
        session,
        backend.keyring,
        attempt=attempt,
        national_id_number=number,
        password=str(form.get("password", "")),
        user_agent=request.headers.get("user-agent", ""),
    )
    ttl = settings.web_session_ttl_seconds
    issued = citizens.issue_token(session, citizen, ttl_seconds=ttl)
    response = redirect(local_path(str(form.get("next") or "/")))
    security.set_cookie(response, request, security.SESSION, issued.token, max_age=ttl)
    return response


@router.post("/logout", dependencies=[CSRF_CHECKED])
def logout(request: Request, session: SessionDep) -> Response:
    return signed_out(
        request, security.SESSION, lambda token: citizens.log_out(session, token), "/"
    )


@router.get("/profile", response_class=HTMLResponse)
def profile_page(request: Request, me: Me, session: SessionDep, backend: BackendDep) -> Response:
    profile = citizens.profile(session, backend.keyring, me)
    number = citizens.national_id_of(session, backend.keyring, me)
    return render(request, "citizen/profile.html", profile=profile, national_id=number)


@router.post("/profile")
def update_profile(form: Posted, me: Me, session: SessionDep, backend: BackendDep) -> Response:
    changes = {
        "full_name": str(form.get("full_name", "")),
        "phone": str(form.get("phone") or "") or None,
        "address": str(form.get("address") or "") or None,
        "date_of_birth": day(form, "date_of_birth"),
    }
    citizens.update_profile(session, backend.keyring, me, changes)
    return redirect("/profile?saved=1")


@router.post("/profile/export", dependencies=[CSRF_CHECKED])
def export_everything(me: Me, session: SessionDep, backend: BackendDep) -> Response:
    """The button "Tải về toàn bộ giấy tờ của tôi": the same zip as GET /citizens/me/export,
    for the citizen in person only."""
    archive = export.gather(session, backend, me, reading=False)
    headers = {**protective_headers(), "Content-Disposition": content_disposition(EXPORT_NAME)}
    return StreamingResponse(archive.chunks(), media_type="application/zip", headers=headers)
