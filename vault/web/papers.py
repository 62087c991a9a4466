"""The citizen's papers as pages: add (photos or a PDF), view, download, replace, delete."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from vault import documents
from vault.api.deps import BackendDep, SessionDep
from vault.api.documents import form_limits
from vault.api.downloads import paper_response, protective_headers
from vault.assist import certifications
from vault.catalog import document_types
from vault.documents import recognition
from vault.web.citizen import MeReading, MeWriting
from vault.web.forms import CSRF_CHECKED, Posted, text, uploaded, whole_number
from vault.web.pages import redirect, render

router = APIRouter(include_in_schema=False)


@router.get("/papers/new", response_class=HTMLResponse)
def add_paper_page(request: Request, me: MeWriting, type: str | None = None) -> Response:
    return render(request, "citizen/add.html", types=document_types.document_types(), chosen=type)


@router.post("/papers")
async def add_paper(
    request: Request, me: MeWriting, session: SessionDep, backend: BackendDep
) -> Response:
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
    request: Request, paper_id: uuid.UUID, me: MeReading, session: SessionDep, backend: BackendDep
) -> Response:
    paper = documents.view(session, backend, owner=me, document_id=paper_id)
    versions = documents.list_versions(session, backend, owner=me, document_id=paper_id)
    kind = document_types.document_types().get(paper.doc_type)
    reading = recognition.reading_of(session, backend, owner=me, document_id=paper_id)
    return render(
        request,
        "citizen/paper.html",
        paper=paper,
        versions=versions,
        kind=kind,
        reading=reading,
    )


@router.post("/papers/{paper_id}/reading/accept", dependencies=[CSRF_CHECKED])
def accept_reading(
    paper_id: uuid.UUID, me: MeWriting, session: SessionDep, backend: BackendDep
) -> Response:
    """The one tap that makes the vault's suggestion the paper's type, number and dates."""
    recognition.accept(session, backend, owner=me, document_id=paper_id, corrections={})
    return redirect(f"/papers/{paper_id}?confirmed=1")


@router.post("/papers/{paper_id}/certify")
def certify_paper(
    request: Request,
    paper_id: uuid.UUID,
    form: Posted,
    me: MeReading,
    session: SessionDep,
    backend: BackendDep,
) -> Response:
    """From the paper's page, by an officer acting for the citizen who has seen the original;
    the version posted is the one the page showed (a newer one since is refused)."""
    certifications.certify(
        session,
        backend,
        acting=getattr(request.state, "acting", None),
        citizen=me,
        document_id=paper_id,
        version=whole_number(form, "version") or 0,
        note=text(form, "note") or None,
    )
    return redirect(f"/papers/{paper_id}?certified=1")


@router.get("/papers/{paper_id}/file")
def paper_file(
    request: Request,
    paper_id: uuid.UUID,
    me: MeReading,
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
    paper_id: uuid.UUID, me: MeReading, session: SessionDep, backend: BackendDep
) -> Response:
    data = documents.thumbnail(session, backend, owner=me, document_id=paper_id)
    return Response(data, media_type="image/jpeg", headers=protective_headers())


@router.get("/papers/{paper_id}/replace", response_class=HTMLResponse)
def replace_page(
    request: Request, paper_id: uuid.UUID, me: MeWriting, session: SessionDep, backend: BackendDep
) -> Response:
    paper = documents.view(session, backend, owner=me, document_id=paper_id)
    return render(
        request, "citizen/replace.html", paper=paper, types=document_types.document_types()
    )


@router.post("/papers/{paper_id}/replace")
async def replace_paper(
    request: Request, paper_id: uuid.UUID, me: MeWriting, session: SessionDep, backend: BackendDep
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
    request: Request, paper_id: uuid.UUID, me: MeWriting, session: SessionDep, backend: BackendDep
) -> Response:
    paper = documents.view(session, backend, owner=me, document_id=paper_id)
    return render(
        request, "citizen/delete.html", paper=paper, types=document_types.document_types()
    )


@router.post("/papers/{paper_id}/delete", dependencies=[CSRF_CHECKED])
def delete_paper(
    paper_id: uuid.UUID, me: MeWriting, session: SessionDep, backend: BackendDep
) -> Response:
    documents.delete(session, backend, owner=me, document_id=paper_id)
    return redirect("/?deleted=1")
