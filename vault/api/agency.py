"""The agency side: client-credentials tokens and access to shared papers."""

from __future__ import annotations

import base64
import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response

from vault import agencies
from vault.api.deps import (
    NO_STORE,
    BackendDep,
    CurrentAgency,
    SessionDep,
    SettingsDep,
)
from vault.api.downloads import delivery_response
from vault.api.schemas import CitizenRef, SharedPaperPublic, SharedPublic, TokenPublic
from vault.kit.errors import AuthenticationFailed, UnsupportedGrantType
from vault.sharing import access

router = APIRouter(tags=["agency"])


def _client_credentials(
    request: Request, client_id: str | None, secret: str | None
) -> tuple[str, str]:
    """RFC 6749 §2.3.1: in the form, or as HTTP Basic (client_secret_basic)."""
    if client_id and secret:
        return client_id, secret
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
        except ValueError:  # binascii.Error, UnicodeDecodeError, and non-ASCII text
            user = password = ""
        if user and password:
            return user, password
    raise AuthenticationFailed("Send client_id and client_secret, in the form or as HTTP Basic.")


@router.post("/agency/token", response_model=TokenPublic, dependencies=[NO_STORE])
def issue_agency_token(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    grant_type: Annotated[str, Form()],
    client_id: Annotated[str | None, Form()] = None,
    client_secret: Annotated[str | None, Form()] = None,
) -> TokenPublic:
    """OAuth2 client credentials: a short-lived bearer token carrying the agency's identity."""
    if grant_type != "client_credentials":
        raise UnsupportedGrantType("Only grant_type=client_credentials is issued here.")
    user, secret = _client_credentials(request, client_id, client_secret)
    agency = agencies.authenticate(session, client_id=user, client_secret=secret)
    issued = agencies.issue_token(session, agency, ttl_seconds=settings.agency_token_ttl_seconds)
    return TokenPublic(access_token=issued.token, expires_in=issued.expires_in)


@router.get("/shared/{token}", response_model=SharedPublic)
def open_share(
    token: str, who: CurrentAgency, session: SessionDep, backend: BackendDep
) -> SharedPublic:
    """The grant's purpose and expiry and the metadata of its papers."""
    view = access.open_share(session, backend, who=who, token=token, end_read=session.commit)
    return SharedPublic(
        grant_id=view.grant_id,
        purpose=view.purpose,
        expires_at=view.expires_at,
        max_uses=view.max_uses,
        uses=view.uses,
        citizen=CitizenRef(full_name=view.citizen_name, national_id=view.citizen_national_id),
        papers=[SharedPaperPublic.model_validate(p, from_attributes=True) for p in view.papers],
    )


@router.get("/shared/{token}/documents/{document_id}/content", response_class=Response)
def fetch_shared_document(
    token: str,
    document_id: uuid.UUID,
    request: Request,
    who: CurrentAgency,
    session: SessionDep,
    backend: BackendDep,
    watermark: bool = False,
) -> Response:
    """The paper, streamed; one use of the grant. `?watermark=1`: a copy stamped across with
    the agency, the purpose and the date."""
    delivery = access.fetch(
        session,
        backend,
        who=who,
        token=token,
        document_id=document_id,
        end_read=session.commit,
        stamp=watermark,
    )
    return delivery_response(request, delivery)
