"""/uploads: resumable uploads over tus 1.0.0 (creation, creation-with-upload, termination,
expiration, checksum), so that any tus client works unchanged. A finished upload becomes a
paper through POST /documents with `upload_id` fields.

https://tus.io/protocols/resumable-upload
"""

from __future__ import annotations

import base64
import binascii
import logging
import uuid
from datetime import UTC
from email.utils import format_datetime
from typing import Annotated, Any, cast

import anyio.to_thread
from fastapi import APIRouter, Depends, Request, Response, Security, status
from fastapi.security import OAuth2PasswordBearer, SecurityScopes
from sqlmodel import Session
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vault import db
from vault.accounts.models import Citizen
from vault.accounts.models import Scope as AccessScope
from vault.api.deps import BackendDep, SessionDep, citizen_bearer, get_current_citizen
from vault.api.forms import streamed_body
from vault.blobs.backend import Backend
from vault.documents import resumable
from vault.kit.errors import (
    AuthenticationFailed,
    MalformedRequest,
    NotFound,
    UnsupportedProtocol,
    WrongContentType,
)

TUS_VERSION = "1.0.0"
EXTENSIONS = "creation,creation-with-upload,termination,expiration,checksum"
OFFSET_STREAM = "application/offset+octet-stream"
PREFIX = "/api/v1/uploads"
log = logging.getLogger(__name__)

router = APIRouter(prefix="/uploads", tags=["uploads"])

_optional_bearer = OAuth2PasswordBearer(
    tokenUrl="/api/v1/auth/token",
    scheme_name="citizen",
    scopes=cast(Any, citizen_bearer.model).flows.password.scopes,
    description=citizen_bearer.model.description,
    auto_error=False,
)


def get_uploader(
    security_scopes: SecurityScopes,
    request: Request,
    token: Annotated[str | None, Depends(_optional_bearer)],
    session: SessionDep,
) -> Citizen:
    """The citizen by bearer token (an acting token within its scopes), or by the web pages'
    session, which the pages install as `app.state.page_citizen` (it checks the page's CSRF
    token on every method that changes something)."""
    if token:
        return get_current_citizen(security_scopes, request, token, session)
    page = getattr(request.app.state, "page_citizen", None)
    citizen = cast(
        Citizen | None, page(request, session, list(security_scopes.scopes)) if page else None
    )
    if citizen is None:
        raise AuthenticationFailed("A bearer token or a signed-in page session is required.")
    return citizen


Uploader = Annotated[Citizen, Security(get_uploader, scopes=[AccessScope.DOCUMENTS_WRITE])]


def _speaks_tus(request: Request) -> None:
    if request.headers.get("tus-resumable") != TUS_VERSION:
        raise UnsupportedProtocol(f"This server speaks tus {TUS_VERSION} (Tus-Resumable).")


SpeaksTus = Depends(_speaks_tus)


def _whole(request: Request, name: str) -> int:
    value = request.headers.get(name, "").strip()
    if not (value.isascii() and value.isdecimal()) or len(value) > 19:
        raise MalformedRequest(f"{name} must be a whole number of bytes.")
    return int(value)


def _metadata(header: str) -> dict[str, str]:
    """Upload-Metadata: comma-separated `key base64(value)` pairs; a key may stand alone."""
    found: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in header.split(","))):
        key, _, encoded = pair.partition(" ")
        try:
            found[key] = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise MalformedRequest(
                "Upload-Metadata holds key and base64 value pairs, comma-separated."
            ) from None
    return found


def _upload_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise NotFound("No such upload.") from None


def _checksum(request: Request) -> resumable.Checksum | None:
    header = request.headers.get("upload-checksum")
    return resumable.Checksum.parse(header) if header else None


def _has_body(request: Request) -> bool:
    length = request.headers.get("content-length")
    if length is not None:
        return length.strip() not in {"", "0"}
    return "chunked" in request.headers.get("transfer-encoding", "").lower()


def _state(view: resumable.UploadView, response: Response | None = None) -> dict[str, str]:
    headers = {
        "Upload-Offset": str(view.received),
        "Upload-Expires": format_datetime(view.expires_at.astimezone(UTC), usegmt=True),
    }
    if response is not None:
        response.headers.update(headers)
    return headers


async def _append(
    request: Request,
    citizen: Citizen,
    session: SessionDep,
    backend: BackendDep,
    upload_id: uuid.UUID,
    offset: int,
) -> tuple[resumable.UploadView, bool]:
    """The upload after this request's bytes, and whether the body was cut short (the client
    went away, or fewer bytes than its Content-Length arrived)."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != OFFSET_STREAM:
        raise WrongContentType(f"Send the bytes as {OFFSET_STREAM}.")
    checksum = _checksum(request)
    async with streamed_body(request, backend.limits.max_upload_bytes) as body:
        view = await anyio.to_thread.run_sync(
            lambda: resumable.append(
                session,
                backend,
                owner=citizen,
                upload_id=upload_id,
                offset=offset,
                body=body,
                declared=body.declared,
                checksum=checksum,
                commit=session.commit,
            )
        )
    return view, body.cut


@router.options("", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
@router.options("/{upload_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def describe_uploads(request: Request, backend: BackendDep) -> Response:
    """What this tus server speaks; no token needed."""
    return Response(
        status_code=status.HTTP_204_NO_CONTENT,
        headers={
            "Tus-Version": TUS_VERSION,
            "Tus-Extension": EXTENSIONS,
            "Tus-Max-Size": str(backend.limits.max_upload_bytes),
            "Tus-Checksum-Algorithm": ",".join(resumable.CHECKSUMS),
        },
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_class=Response,
    dependencies=[SpeaksTus],
    responses={201: {"description": "Created; `Location` is where to send the bytes"}},
)
async def create_upload(
    request: Request, citizen: Uploader, session: SessionDep, backend: BackendDep
) -> Response:
    """tus creation (Upload-Length, Upload-Metadata with filename and filetype), with the first
    bytes in the same request if the client sends them (creation-with-upload)."""
    if request.headers.get("upload-defer-length"):
        raise MalformedRequest("Upload-Length is required (creation-defer-length is not offered).")
    length = _whole(request, "Upload-Length")
    metadata = _metadata(request.headers.get("upload-metadata", ""))
    view = await anyio.to_thread.run_sync(
        lambda: resumable.create(
            session,
            backend,
            owner=citizen,
            length=length,
            filename=metadata.get("filename") or metadata.get("name"),
            filetype=metadata.get("filetype") or metadata.get("type"),
        )
    )
    if _has_body(request):
        try:
            view, cut = await _append(request, citizen, session, backend, view.id, 0)
            if cut:
                raise MalformedRequest(
                    "The body ended before its Content-Length; no upload was created."
                )
        except BaseException:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(_give_up, session, backend, citizen, view.id)
            raise
    location = f"{request.url.path.rstrip('/')}/{view.id}"
    return Response(
        status_code=status.HTTP_201_CREATED, headers={"Location": location, **_state(view)}
    )


def _give_up(session: Session, backend: Backend, citizen: Citizen, upload_id: uuid.UUID) -> None:
    """A creation whose first bytes failed or were cut short is undone: the client learns where
    its upload is from the answer alone, and without it the upload could neither go on nor be
    cancelled, and would hold a place in the citizen's quota for a day."""
    db.roll_back(session)
    try:
        resumable.terminate(session, backend, owner=citizen, upload_id=upload_id)
        session.commit()
    except NotFound:
        return  # never committed: gone with the rollback
    except Exception:
        log.warning("a failed creation could not be undone; the upload expires instead")
        db.roll_back(session)


@router.head("/{upload_id}", response_class=Response, dependencies=[SpeaksTus])
def read_upload_offset(
    upload_id: str, citizen: Uploader, session: SessionDep, backend: BackendDep
) -> Response:
    """Where to go on: Upload-Offset, Upload-Length, Upload-Expires."""
    view = resumable.head(session, backend, owner=citizen, upload_id=_upload_id(upload_id))
    headers = {**_state(view), "Upload-Length": str(view.length), "Cache-Control": "no-store"}
    metadata = {"filename": view.filename, "filetype": view.filetype}
    encoded = [
        f"{key} {base64.b64encode(value.encode()).decode()}"
        for key, value in metadata.items()
        if value is not None
    ]
    if encoded:
        headers["Upload-Metadata"] = ",".join(encoded)
    return Response(status_code=status.HTTP_200_OK, headers=headers)


@router.patch(
    "/{upload_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    dependencies=[SpeaksTus],
)
async def append_to_upload(
    upload_id: str, request: Request, citizen: Uploader, session: SessionDep, backend: BackendDep
) -> Response:
    """The next bytes at Upload-Offset; answers the new offset. A connection lost mid-way keeps
    every whole part stored before it, and what arrived after as its tail (HEAD says where to go
    on)."""
    offset = _whole(request, "Upload-Offset")
    view, _ = await _append(request, citizen, session, backend, _upload_id(upload_id), offset)
    return Response(status_code=status.HTTP_204_NO_CONTENT, headers=_state(view))


@router.delete(
    "/{upload_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    dependencies=[SpeaksTus],
)
def cancel_upload(
    upload_id: str, citizen: Uploader, session: SessionDep, backend: BackendDep
) -> Response:
    """tus termination: the upload and what it holds in the store are gone."""
    resumable.terminate(session, backend, owner=citizen, upload_id=_upload_id(upload_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


class TusHeaders:
    """Every answer under /uploads says `Tus-Resumable: 1.0.0`, refusals included, and a client
    that can only POST may name the method it means in X-HTTP-Method-Override."""

    def __init__(self, app: ASGIApp, prefix: str = PREFIX) -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path != self.prefix and not path.startswith(self.prefix + "/"):
            await self.app(scope, receive, send)
            return
        override = dict(scope["headers"]).get(b"x-http-method-override")
        if override and scope["method"] == "POST":
            method = override.decode("latin-1").strip().upper()
            if method in {"PATCH", "DELETE", "HEAD"}:
                scope = {**scope, "method": method}

        async def tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["Tus-Resumable"] = TUS_VERSION
            await send(message)

        await self.app(scope, receive, tagged)
