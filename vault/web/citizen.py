"""The citizen's pages: one task per page, large type, plain Vietnamese words."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from vault import agencies, db, documents
from vault.accounts import citizens
from vault.accounts.models import Citizen
from vault.api.deps import BackendDep, EngineDep, SessionDep, SettingsDep
from vault.api.documents import form_limits
from vault.api.downloads import paper_response, protective_headers
from vault.catalog import document_types, procedures
from vault.dossiers import citizen as dossiers
from vault.sharing import access_log, grants, qr
from vault.web import security
from vault.web.forms import CSRF_CHECKED, Posted, day, ids, signed_out, uploaded, whole_number
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
    return render(request, "citizen/home.html", groups=groups, types=types, name=profile.full_name)


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


@router.get("/papers/new", response_class=HTMLResponse)
def add_paper_page(request: Request, me: Me, type: str | None = None) -> Response:
    return render(request, "citizen/add.html", types=document_types.document_types(), chosen=type)


@router.post("/papers")
async def add_paper(request: Request, me: Me, session: SessionDep, backend: BackendDep) -> Response:
    paper = await uploaded(
        request,
        form_limits(backend),
        lambda parts: documents.upload(
            session, backend, owner=me, parts=parts, end_read=session.commit
        ),
    )
    return redirect(f"/papers/{paper.id}?added=1")


@router.get("/papers/{paper_id}", response_class=HTMLResponse)
def paper_page(
    request: Request, paper_id: uuid.UUID, me: Me, session: SessionDep, backend: BackendDep
) -> Response:
    paper = documents.view(session, backend, owner=me, document_id=paper_id)
    versions = documents.list_versions(session, backend, owner=me, document_id=paper_id)
    kind = document_types.document_types().get(paper.doc_type)
    return render(request, "citizen/paper.html", paper=paper, versions=versions, kind=kind)


@router.get("/papers/{paper_id}/file")
def paper_file(
    request: Request,
    paper_id: uuid.UUID,
    me: Me,
    session: SessionDep,
    backend: BackendDep,
    version: int | None = None,
    inline: bool = False,
) -> Response:
    content = documents.open_content(
        session, backend, owner=me, document_id=paper_id, version=version
    )
    shown = inline and content.content_type.startswith("image/")
    return paper_response(request, content, inline=shown)


@router.get("/papers/{paper_id}/thumbnail")
def paper_thumbnail(
    paper_id: uuid.UUID, me: Me, session: SessionDep, backend: BackendDep
) -> Response:
    data = documents.thumbnail(session, backend, owner=me, document_id=paper_id)
    return Response(data, media_type="image/jpeg", headers=protective_headers())


@router.get("/papers/{paper_id}/replace", response_class=HTMLResponse)
def replace_page(
    request: Request, paper_id: uuid.UUID, me: Me, session: SessionDep, backend: BackendDep
) -> Response:
    paper = documents.view(session, backend, owner=me, document_id=paper_id)
    return render(
        request, "citizen/replace.html", paper=paper, types=document_types.document_types()
    )


@router.post("/papers/{paper_id}/replace")
async def replace_paper(
    request: Request, paper_id: uuid.UUID, me: Me, session: SessionDep, backend: BackendDep
) -> Response:
    await uploaded(
        request,
        form_limits(backend),
        lambda parts: documents.add_version(
            session, backend, owner=me, document_id=paper_id, parts=parts, end_read=session.commit
        ),
    )
    return redirect(f"/papers/{paper_id}?replaced=1")


@router.get("/papers/{paper_id}/delete", response_class=HTMLResponse)
def delete_page(
    request: Request, paper_id: uuid.UUID, me: Me, session: SessionDep, backend: BackendDep
) -> Response:
    paper = documents.view(session, backend, owner=me, document_id=paper_id)
    return render(
        request, "citizen/delete.html", paper=paper, types=document_types.document_types()
    )


@router.post("/papers/{paper_id}/delete", dependencies=[CSRF_CHECKED])
def delete_paper(paper_id: uuid.UUID, me: Me, session: SessionDep, backend: BackendDep) -> Response:
    documents.delete(session, backend, owner=me, document_id=paper_id)
    return redirect("/?deleted=1")


@router.get("/share", response_class=HTMLResponse)
def share_page(
    request: Request,
    me: Me,
    session: SessionDep,
    backend: BackendDep,
    paper: Annotated[list[uuid.UUID] | None, Query()] = None,
) -> Response:
    papers = documents.list_documents(session, backend, owner=me)
    active = [a for a in agencies.list_all(session) if a.disabled_at is None]
    return render(
        request,
        "citizen/share.html",
        papers=papers,
        chosen=set(paper or []),
        agencies=active,
        types=document_types.document_types(),
        days=SHARE_DAYS,
    )


@router.post("/share")
def share(
    form: Posted,
    me: Me,
    session: SessionDep,
    backend: BackendDep,
    settings: SettingsDep,
) -> Response:
    days = whole_number(form, "days")
    grant = grants.create(
        session,
        backend,
        owner=me,
        agency_code=str(form.get("agency", "")),
        document_ids=ids(form, "paper"),
        purpose=str(form.get("purpose", "")),
        expires_in_days=grants.DEFAULT_DAYS if days is None else days,
        max_uses=whole_number(form, "max_uses"),
        public_url=settings.public_url,
    )
    return redirect(f"/shares/{grant.id}?new=1")


@router.get("/shares", response_class=HTMLResponse)
def shares_page(request: Request, me: Me, session: SessionDep, backend: BackendDep) -> Response:
    return render(
        request, "citizen/shares.html", grants=grants.list_for(session, backend, owner=me)
    )


@router.get("/shares/{grant_id}", response_class=HTMLResponse)
def grant_page(
    request: Request,
    grant_id: uuid.UUID,
    me: Me,
    session: SessionDep,
    backend: BackendDep,
    settings: SettingsDep,
) -> Response:
    grant = grants.get(session, backend, owner=me, grant_id=grant_id)
    link = grants.share_url(
        session, backend, owner=me, grant_id=grant_id, public_url=settings.public_url
    )
    papers = {p.id: p for p in documents.list_documents(session, backend, owner=me)}
    return render(
        request,
        "citizen/grant.html",
        grant=grant,
        link=link,
        papers=[papers[i] for i in grant.document_ids if i in papers],
        types=document_types.document_types(),
    )


@router.get("/shares/{grant_id}/qr")
def grant_qr(
    grant_id: uuid.UUID, me: Me, session: SessionDep, backend: BackendDep, settings: SettingsDep
) -> Response:
    link = grants.share_url(
        session, backend, owner=me, grant_id=grant_id, public_url=settings.public_url
    )
    return Response(qr.png(link), media_type="image/png", headers=protective_headers())


@router.post("/shares/{grant_id}/revoke", dependencies=[CSRF_CHECKED])
def revoke_grant(grant_id: uuid.UUID, me: Me, session: SessionDep) -> Response:
    grants.revoke(session, owner=me, grant_id=grant_id)
    return redirect(f"/shares/{grant_id}?revoked=1")


@router.get("/access-log", response_class=HTMLResponse)
def access_log_page(request: Request, me: Me, session: SessionDep, backend: BackendDep) -> Response:
    records = access_log.for_citizen(session, backend, owner=me, limit=200)
    return render(
        request, "citizen/access_log.html", records=records, types=document_types.document_types()
    )


@router.get("/dossiers", response_class=HTMLResponse)
def dossiers_page(request: Request, me: Me, session: SessionDep, backend: BackendDep) -> Response:
    return render(
        request, "citizen/dossiers.html", dossiers=dossiers.list_for(session, backend, owner=me)
    )


@router.get("/dossiers/new", response_class=HTMLResponse)
def new_dossier_page(
    request: Request, me: Me, session: SessionDep, procedure: str | None = None
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
def create_dossier(form: Posted, me: Me, session: SessionDep, backend: BackendDep) -> Response:
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
    request: Request, dossier_id: uuid.UUID, me: Me, session: SessionDep, backend: BackendDep
) -> Response:
    view = dossiers.view(session, backend, owner=me, dossier_id=dossier_id)
    return render(
        request, "citizen/dossier.html", dossier=view, types=document_types.document_types()
    )


@router.post("/dossiers/{dossier_id}/attachments")
async def attach(
    request: Request, dossier_id: uuid.UUID, me: Me, session: SessionDep, backend: BackendDep
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
    me: Me,
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
    me: Me,
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
    dossier_id: uuid.UUID, me: Me, session: SessionDep, backend: BackendDep
) -> Response:
    dossiers.withdraw(session, backend, owner=me, dossier_id=dossier_id)
    return redirect(f"/dossiers/{dossier_id}")
