"""Request-scoped dependencies: the unit of work, the backend, the caller's identity."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.openapi.models import OAuthFlowClientCredentials
from fastapi.openapi.models import OAuthFlows as OAuthFlowsModel
from fastapi.security import OAuth2, OAuth2PasswordBearer
from sqlmodel import Session

from vault import accounts, agencies, db
from vault.backend import Backend
from vault.errors import AuthenticationFailed
from vault.models import Citizen
from vault.settings import Settings
from vault.sharing import access
from vault.sharing.access import Accessor

_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
citizen_bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", scheme_name="citizen")
agency_bearer = OAuth2(
    flows=OAuthFlowsModel(
        clientCredentials=OAuthFlowClientCredentials(tokenUrl="/api/v1/agency/token")
    ),
    scheme_name="agency",
    auto_error=False,
)


def get_session(request: Request) -> Iterator[Session]:
    writes = request.method not in _SAFE_METHODS
    with db.unit_of_work(request.app.state.engine, writes=writes) as session:
        yield session


def get_recording_session(request: Request) -> Iterator[Session]:
    """For reads that are recorded (an agency opening a share counts and audits): on SQLite
    the transaction must take the write lock first, or it can fail when upgrading to write."""
    with db.unit_of_work(request.app.state.engine, writes=True) as session:
        yield session


async def get_backend(request: Request) -> Backend:
    return request.app.state.backend  # type: ignore[no-any-return]


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


# scope="function": commit before the response is sent, so that a failed commit is a 500,
# not a 201 for a paper that was never saved.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
RecordingSessionDep = Annotated[Session, Depends(get_recording_session, scope="function")]


def get_current_citizen(
    token: Annotated[str, Depends(citizen_bearer)], session: SessionDep
) -> Citizen:
    citizen = accounts.citizen_for_token(session, token)
    if citizen is None:
        raise AuthenticationFailed("The access token is invalid or has expired; log in again.")
    return citizen


def get_current_agency(
    request: Request,
    authorization: Annotated[str | None, Depends(agency_bearer)],
    session: RecordingSessionDep,
) -> Accessor:
    scheme, _, token = (authorization or "").partition(" ")
    agency = agencies.agency_for_token(session, token) if scheme.lower() == "bearer" else None
    if agency is None:
        access.record_unauthenticated(session, request.method)
        raise AuthenticationFailed(
            "An agency bearer token is required; see POST /api/v1/agency/token."
        )
    return Accessor(agency)


BackendDep = Annotated[Backend, Depends(get_backend)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
CurrentCitizen = Annotated[Citizen, Depends(get_current_citizen)]
CurrentAgency = Annotated[Accessor, Depends(get_current_agency)]
