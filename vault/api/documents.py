from __future__ import annotations

import uuid
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Query, Request, Response, status
from sqlmodel import Session

from vault import documents
from vault.accounts.models import Citizen
from vault.api.deps import BackendDep, ReadsPapers, SessionDep, WritesPapers
from vault.api.downloads import paper_response, protective_headers
from vault.api.forms import FormLimits, streamed_form
from vault.api.reading import DocumentRead
from vault.api.schemas import UPLOAD_BODY, AgencyRef, DocumentPublic, SignaturePublic
from vault.blobs.backend import Backend
from vault.documents import recognition, search

router = APIRouter(prefix="/documents", tags=["documents"])


def form_limits(backend: Backend) -> FormLimits:
    limits = backend.limits
    # Each page may also come as a finished resumable upload's `upload_id` field.
    return FormLimits(
        max_file_bytes=limits.max_upload_bytes,
        max_files=limits.max_pages,
        max_fields=16 + limits.max_pages,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=DocumentRead,
    openapi_extra=UPLOAD_BODY,
)
async def upload_document(
    request: Request, citizen: WritesPapers, session: SessionDep, backend: BackendDep
) -> DocumentRead:
    """Store a paper: one PDF, or photos that become its pages. Fields: doc_type, title,
    number, issued_on, expires_on; the file parts are named `file`."""
    async with streamed_form(request, form_limits(backend)) as parts:
        view = await anyio.to_thread.run_sync(
            lambda: documents.upload(
                session, backend, owner=citizen, parts=parts, end_read=session.commit
            )
        )
    return await anyio.to_thread.run_sync(_with_reading, session, backend, citizen, view)


@router.get("", response_model=list[DocumentPublic])
def list_documents(
    citizen: ReadsPapers,
    session: SessionDep,
    backend: BackendDep,
    doc_type: str | None = None,
    q: Annotated[str | None, Query(max_length=200, description=SEARCH)] = None,
) -> list[DocumentPublic]:
    if q is not None and q.strip():
        views = search.search(session, backend, owner=citizen, query=q, doc_type=doc_type)
    else:
        views = documents.list_documents(session, backend, owner=citizen, doc_type=doc_type)
    return [DocumentPublic.of(view) for view in views]


@router.get("/{document_id}", response_model=DocumentRead)
def read_document(
    document_id: uuid.UUID, citizen: ReadsPapers, session: SessionDep, backend: BackendDep
) -> DocumentRead:
    view = documents.view(session, backend, owner=citizen, document_id=document_id)
    return _with_reading(session, backend, citizen, view)


SEARCH = (
    "Words in the title, number, type or OCR text of the paper; accents and case do not "
    "matter and every word must match"
)


def _with_reading(
    session: Session, backend: Backend, citizen: Citizen, view: documents.DocumentView
) -> DocumentRead:
    reading = recognition.reading_of(session, backend, owner=citizen, document_id=view.id)
    return DocumentRead.read(view, reading)


@router.get("/{document_id}/content", response_class=Response)
def download_document(
    document_id: uuid.UUID,
    request: Request,
    citizen: ReadsPapers,
    session: SessionDep,
    backend: BackendDep,
) -> Response:
    content = documents.open_content(session, backend, owner=citizen, document_id=document_id)
    return paper_response(request, content)


@router.get("/{document_id}/thumbnail", response_class=Response)
def read_thumbnail(
    document_id: uuid.UUID, citizen: ReadsPapers, session: SessionDep, backend: BackendDep
) -> Response:
    data = documents.thumbnail(session, backend, owner=citizen, document_id=document_id)
    return Response(data, media_type="image/jpeg", headers=protective_headers())


@router.post(
    "/{document_id}/versions",
    status_code=status.HTTP_201_CREATED,
    response_model=DocumentPublic,
    openapi_extra=UPLOAD_BODY,
)
async def add_document_version(
    document_id: uuid.UUID,
    request: Request,
    citizen: WritesPapers,
    session: SessionDep,
    backend: BackendDep,
) -> DocumentPublic:
    """Replace the paper with a newer scan; the older versions stay listed and readable."""
    async with streamed_form(request, form_limits(backend)) as parts:
        view = await anyio.to_thread.run_sync(
            lambda: documents.add_version(
                session,
                backend,
                owner=citizen,
                document_id=document_id,
                parts=parts,
                end_read=session.commit,
            )
        )
    return DocumentPublic.of(view)


@router.get("/{document_id}/versions", response_model=list[DocumentPublic])
def list_document_versions(
    document_id: uuid.UUID, citizen: ReadsPapers, session: SessionDep, backend: BackendDep
) -> list[DocumentPublic]:
    views = documents.list_versions(session, backend, owner=citizen, document_id=document_id)
    return [DocumentPublic.of(view) for view in views]


@router.get("/{document_id}/versions/{version}/content", response_class=Response)
def download_document_version(
    document_id: uuid.UUID,
    version: int,
    request: Request,
    citizen: ReadsPapers,
    session: SessionDep,
    backend: BackendDep,
) -> Response:
    content = documents.open_content(
        session, backend, owner=citizen, document_id=document_id, version=version
    )
    return paper_response(request, content)


@router.get("/{document_id}/signature", response_model=SignaturePublic)
def read_document_signature(
    document_id: uuid.UUID, citizen: ReadsPapers, session: SessionDep, backend: BackendDep
) -> SignaturePublic:
    """The issuing agency's signature over the paper's SHA-256, its public key as it was
    when the paper was deposited, and whether both still match the stored bytes."""
    view = documents.signature_of(session, backend, owner=citizen, document_id=document_id)
    return SignaturePublic(
        issuer=AgencyRef(code=view.issuer_code, name=view.issuer_name),
        **{k: getattr(view, k) for k in SignaturePublic.model_fields if k != "issuer"},
    )


@router.delete("/{document_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_document(
    document_id: uuid.UUID, citizen: WritesPapers, session: SessionDep, backend: BackendDep
) -> None:
    """Shred the paper and all its versions: their keys are destroyed, the objects deleted."""
    documents.delete(session, backend, owner=citizen, document_id=document_id)
