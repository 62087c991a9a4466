from __future__ import annotations

import uuid

from fastapi import APIRouter, Query, Response, status

from vault.api.deps import (
    NO_STORE,
    BackendDep,
    CurrentCitizen,
    SessionDep,
    SettingsDep,
    SharesPapers,
    WritesGrants,
)
from vault.api.downloads import protective_headers
from vault.api.schemas import (
    AccessLogEntry,
    AgencyRef,
    DelegatePublic,
    GrantCreate,
    GrantCreated,
    GrantPublic,
    OfficerPublic,
)
from vault.sharing import access_log, grants, qr

router = APIRouter(tags=["sharing"])


@router.post(
    "/grants",
    status_code=status.HTTP_201_CREATED,
    response_model=GrantCreated,
    dependencies=[NO_STORE],
)
def create_grant(
    body: GrantCreate,
    citizen: SharesPapers,
    session: SessionDep,
    backend: BackendDep,
    settings: SettingsDep,
) -> GrantCreated:
    """Share papers with one agency for a purpose and a time. The token is in this response only."""
    view = grants.create(
        session,
        backend,
        owner=citizen,
        agency_code=body.agency,
        document_ids=body.document_ids,
        purpose=body.purpose,
        expires_in_days=body.expires_in_days,
        max_uses=body.max_uses,
        public_url=settings.public_url,
        masks=body.masks_by_paper(),
    )
    return GrantCreated.of(view)


@router.get("/grants", response_model=list[GrantPublic])
def list_grants(
    citizen: WritesGrants, session: SessionDep, backend: BackendDep
) -> list[GrantPublic]:
    return [GrantPublic.of(view) for view in grants.list_for(session, backend, owner=citizen)]


@router.get("/grants/{grant_id}", response_model=GrantPublic)
def read_grant(
    grant_id: uuid.UUID, citizen: WritesGrants, session: SessionDep, backend: BackendDep
) -> GrantPublic:
    return GrantPublic.of(grants.get(session, backend, owner=citizen, grant_id=grant_id))


@router.delete("/grants/{grant_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_grant(grant_id: uuid.UUID, citizen: WritesGrants, session: SessionDep) -> None:
    """Revoke at once; revoking again is harmless."""
    grants.revoke(session, owner=citizen, grant_id=grant_id)


@router.get("/grants/{grant_id}/qr", response_class=Response)
def read_grant_qr(
    grant_id: uuid.UUID,
    citizen: WritesGrants,
    session: SessionDep,
    backend: BackendDep,
    settings: SettingsDep,
) -> Response:
    """A PNG QR code of the share link, to show at the one-stop counter."""
    url = grants.share_url(
        session, backend, owner=citizen, grant_id=grant_id, public_url=settings.public_url
    )
    return Response(qr.png(url), media_type="image/png", headers=protective_headers())


@router.get("/access-log", response_model=list[AccessLogEntry])
def read_access_log(
    citizen: CurrentCitizen,
    session: SessionDep,
    backend: BackendDep,
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[AccessLogEntry]:
    """Which agency opened which paper, when, under which grant and purpose, and every acting
    session with what was done in it — newest first."""
    return [
        AccessLogEntry(
            time=r.time,
            action=r.action,
            outcome=r.outcome,
            reason=r.reason,
            agency=AgencyRef(code=r.agency_code, name=r.agency_name or "")
            if r.agency_code
            else None,
            officer=OfficerPublic(
                username=r.officer.username,
                name=r.officer.name,
                agency=AgencyRef(code=r.officer.agency_code, name=r.officer.agency_name),
            )
            if r.officer
            else None,
            acting_session_id=r.acting_session_id,
            grant_id=r.grant_id,
            document_id=r.document_id,
            doc_type=r.doc_type,
            purpose=r.purpose,
            delegate=DelegatePublic(id=r.delegate.id, name=r.delegate.name) if r.delegate else None,
            masked=r.masked,
        )
        for r in access_log.for_citizen(session, backend, owner=citizen, limit=limit)
    ]
