"""Sharing papers from the pages: the share form, the shares with their QR codes, revoking,
and the access log."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from vault import agencies, documents
from vault.api.deps import BackendDep, SessionDep, SettingsDep
from vault.api.downloads import protective_headers
from vault.catalog import document_types
from vault.sharing import access_log, grants, masks, qr
from vault.web.citizen import SHARE_DAYS, Me, MeSharing, MeSharingPapers
from vault.web.forms import CSRF_CHECKED, Posted, ids, text, whole_number
from vault.web.pages import redirect, render

router = APIRouter(include_in_schema=False)


@router.get("/share", response_class=HTMLResponse)
def share_page(
    request: Request,
    me: MeSharingPapers,
    session: SessionDep,
    backend: BackendDep,
    paper: Annotated[list[uuid.UUID] | None, Query()] = None,
) -> Response:
    papers = documents.list_documents(session, backend, owner=me)
    active = [a for a in agencies.list_all(session) if a.disabled_at is None]
    limit = backend.limits.max_image_bytes
    return render(
        request,
        "citizen/share.html",
        papers=papers,
        chosen=set(paper or []),
        agencies=active,
        types=document_types.document_types(),
        days=SHARE_DAYS,
        maskable={p.id for p in papers if masks.maskable(p, max_bytes=limit)},
        mask_pages=masks.MAX_PAGES,
    )


@router.get("/share/papers/{paper_id}/pages/{page}")
def share_page_image(
    paper_id: uuid.UUID, page: int, me: MeSharingPapers, session: SessionDep, backend: BackendDep
) -> Response:
    """A page of the citizen's PDF, to draw masks on (a photo is shown from its own file)."""
    image = masks.page_preview(session, backend, owner=me, document_id=paper_id, page=page)
    return Response(image, media_type="image/jpeg", headers=protective_headers())


@router.post("/share")
def share(
    form: Posted,
    me: MeSharingPapers,
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
        # Drawn on the page by static/masks.js; without it the form sends none.
        masks=masks.from_json(text(form, "masks")),
    )
    return redirect(f"/shares/{grant.id}?new=1")


@router.get("/shares", response_class=HTMLResponse)
def shares_page(
    request: Request, me: MeSharing, session: SessionDep, backend: BackendDep
) -> Response:
    return render(
        request, "citizen/shares.html", grants=grants.list_for(session, backend, owner=me)
    )


@router.get("/shares/{grant_id}", response_class=HTMLResponse)
def grant_page(
    request: Request,
    grant_id: uuid.UUID,
    me: MeSharing,
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
    grant_id: uuid.UUID,
    me: MeSharing,
    session: SessionDep,
    backend: BackendDep,
    settings: SettingsDep,
) -> Response:
    link = grants.share_url(
        session, backend, owner=me, grant_id=grant_id, public_url=settings.public_url
    )
    return Response(qr.png(link), media_type="image/png", headers=protective_headers())


@router.post("/shares/{grant_id}/revoke", dependencies=[CSRF_CHECKED])
def revoke_grant(grant_id: uuid.UUID, me: MeSharing, session: SessionDep) -> Response:
    grants.revoke(session, owner=me, grant_id=grant_id)
    return redirect(f"/shares/{grant_id}?revoked=1")


@router.get("/access-log", response_class=HTMLResponse)
def access_log_page(request: Request, me: Me, session: SessionDep, backend: BackendDep) -> Response:
    records = access_log.for_citizen(session, backend, owner=me, limit=200)
    return render(
        request, "citizen/access_log.html", records=records, types=document_types.document_types()
    )
