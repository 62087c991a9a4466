"""The citizen's pages: signing up and in, the home page and the profile, one task per page, in
large type and plain Vietnamese words. Papers, shares and dossiers have their pages beside it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from vault import db, documents
from vault.accounts import citizens
from vault.accounts.models import Citizen
from vault.api.deps import BackendDep, EngineDep, SessionDep, SettingsDep
from vault.catalog import document_types
from vault.notices import inbox
from vault.web import security
from vault.web.forms import CSRF_CHECKED, Posted, day, signed_out
from vault.web.i18n import LANGUAGES
from vault.web.pages import local_path, redirect, render

router = APIRouter(include_in_schema=False)
SHARE_DAYS = (1, 3, 7, 30, 90)


def signed_in(request: Request, session: SessionDep) -> Citizen:
    token = request.cookies.get(security.SESSION)
    citizen = citizens.citizen_for_token(session, token) if token else None
    if citizen is None:
        raise security.LoginRequired(f"/login?next={request.url.path}")
    return citizen


Me = Annotated[Citizen, Depends(signed_in)]


@router.get("/lang/{language}")
def choose_language(request: Request, language: str, next: str = "/") -> RedirectResponse:
    response = redirect(local_path(next))
    if language in LANGUAGES:
        security.set_cookie(response, request, security.LANGUAGE, language, max_age=365 * 86400)
    return response


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep, backend: BackendDep) -> Response:
    token = request.cookies.get(security.SESSION)
    citizen = citizens.citizen_for_token(session, token) if token else None
    if citizen is None:
        return render(request, "citizen/welcome.html")
    papers = documents.list_documents(session, backend, owner=citizen)
    types = document_types.document_types()
    groups: dict[str, list[documents.DocumentView]] = {}
    for paper in papers:
        groups.setdefault(paper.doc_type, []).append(paper)
    profile = citizens.profile(session, backend.keyring, citizen)
    return render(
        request,
        "citizen/home.html",
        groups=groups,
        types=types,
        name=profile.full_name,
        unread=inbox.unread_count(session, citizen.id),
    )


@router.get("/signup", response_class=HTMLResponse)
def signup_page(request: Request) -> Response:
    return render(request, "citizen/signup.html")


@router.post("/signup")
def signup(request: Request, form: Posted, session: SessionDep, backend: BackendDep) -> Response:
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
        request, security.SESSION, lambda token: citizens.revoke_token(session, token), "/"
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
