"""Request-scoped dependencies: the unit of work, the backend, the caller's identity."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import anyio.to_thread
from fastapi import Depends, Request
from fastapi.openapi.models import OAuthFlowClientCredentials
from fastapi.openapi.models import OAuthFlows as OAuthFlowsModel
from fastapi.security import OAuth2, OAuth2PasswordBearer
from sqlalchemy import Engine
from sqlmodel import Session

from vault import agencies, db
from vault.accounts import citizens
from vault.accounts.models import Citizen
from vault.blobs.backend import Backend
from vault.kit.errors import AuthenticationFailed, TooManyAttempts
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


async def get_session(request: Request) -> AsyncIterator[Session]:
    # Opening costs no I/O, so it happens here; only the close goes to a worker thread.
    writes = request.method not in _SAFE_METHODS
    work = db.UnitOfWork(request.app.state.engine, writes=writes)
    try:
        yield work.session
    except BaseException as error:
        await anyio.to_thread.run_sync(work.close, error)
        raise
    await anyio.to_thread.run_sync(work.close)


async def get_engine(request: Request) -> Engine:
    """For a route that needs a unit of work besides the request's own."""
    return request.app.state.engine  # type: ignore[no-any-return]


async def get_backend(request: Request) -> Backend:
    return request.app.state.backend  # type: ignore[no-any-return]


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


# scope="function": commit before the response is sent, so that a failed commit is a 500,
# not a 201 for a paper that was never saved.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_current_citizen(
    token: Annotated[str, Depends(citizen_bearer)], session: SessionDep
) -> Citizen:
    citizen = citizens.citizen_for_token(session, token)
    if citizen is None:
        raise AuthenticationFailed("The access token is invalid or has expired; log in again.")
    return citizen


def get_current_agency(
    request: Request,
    authorization: Annotated[str | None, Depends(agency_bearer)],
    session: SessionDep,
) -> Accessor:
    scheme, _, token = (authorization or "").partition(" ")
    agency = agencies.agency_for_token(session, token) if scheme.lower() == "bearer" else None
    if agency is None:
        client = request.client.host if request.client else "unknown"
        wait = request.app.state.anonymous_budget.spend(client)
        if wait is not None:
            raise TooManyAttempts(
                "Too many requests without valid agency credentials; wait.", retry_after=wait
            )
        access.record_unauthenticated(session, request.method)
        raise AuthenticationFailed(
            "An agency bearer token is required; see POST /api/v1/agency/token."
        )
    return Accessor(agency)


EngineDep = Annotated[Engine, Depends(get_engine)]
BackendDep = Annotated[Backend, Depends(get_backend)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
CurrentCitizen = Annotated[Citizen, Depends(get_current_citizen)]
CurrentAgency = Annotated[Accessor, Depends(get_current_agency)]
