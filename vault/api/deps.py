"""Request-scoped dependencies: the unit of work, the backend, the caller's identity."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import anyio.to_thread
from fastapi import Depends, Request, Response, Security
from fastapi.openapi.models import OAuthFlowClientCredentials
from fastapi.openapi.models import OAuthFlows as OAuthFlowsModel
from fastapi.security import OAuth2, OAuth2PasswordBearer, SecurityScopes
from sqlalchemy import Engine
from sqlmodel import Session

from vault import agencies, audit, db
from vault.accounts import acting, citizens, officers
from vault.accounts.acting import Acting
from vault.accounts.models import Citizen, Scope
from vault.accounts.officers import OfficerSession
from vault.blobs.backend import Backend
from vault.kit.errors import AuthenticationFailed, NotWhileActing, TooManyAttempts
from vault.settings import Settings
from vault.sharing import access
from vault.sharing.access import Accessor

_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
citizen_bearer = OAuth2PasswordBearer(
    tokenUrl="/api/v1/auth/token",
    scheme_name="citizen",
    scopes={
        Scope.DOCUMENTS_READ: "See and download the citizen's papers.",
        Scope.DOCUMENTS_WRITE: "Upload, replace and delete papers.",
        Scope.GRANTS_WRITE: "Share papers with an agency, see and revoke shares.",
        Scope.DOSSIERS_WRITE: "Prepare, submit and follow dossiers.",
    },
    description=(
        "The citizen's own token (every route) or an acting token held by an officer or a "
        "delegate (only the routes within its scopes)."
    ),
)
officer_bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/officer/token", scheme_name="officer")
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
    security_scopes: SecurityScopes,
    request: Request,
    token: Annotated[str, Depends(citizen_bearer)],
    session: SessionDep,
) -> Citizen:
    """The citizen, from their own token or from an acting token. A route that declares no
    scope is the citizen's alone; an acting token reaches only routes whose scopes it holds,
    and everything it does is recorded as done by its holder for the citizen."""
    citizen = citizens.citizen_for_token(session, token)
    if citizen is not None:
        return citizen
    found = acting.resolve(session, token)
    if found is None:
        raise AuthenticationFailed("The access token is invalid or has expired; log in again.")
    if not security_scopes.scopes:
        raise NotWhileActing("Only the citizen can do this, not someone acting for them.")
    missing = set(security_scopes.scopes) - {scope.value for scope in found.scopes}
    if missing:
        raise NotWhileActing(
            f"This acting session was not given {', '.join(sorted(missing))}; "
            "ask the citizen for a new one."
        )
    audit.act_for(session, found.actor)
    request.state.acting = found
    return found.citizen


def get_acting(request: Request) -> Acting | None:
    """The acting session of this request, after a scoped citizen dependency resolved it."""
    return getattr(request.state, "acting", None)


def get_current_officer(
    token: Annotated[str, Depends(officer_bearer)], session: SessionDep
) -> OfficerSession:
    found = officers.session_for_token(session, token)
    if found is None:
        raise AuthenticationFailed(
            "An officer's bearer token is required; see POST /api/v1/officer/token."
        )
    return found


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


def no_store(response: Response) -> None:
    """An answer that carries a secret (a token, a code) is kept by no cache (RFC 6749 §5.1)."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"


NO_STORE = Depends(no_store)
EngineDep = Annotated[Engine, Depends(get_engine)]
BackendDep = Annotated[Backend, Depends(get_backend)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
# The citizen in person: an acting token is refused.
CurrentCitizen = Annotated[Citizen, Depends(get_current_citizen)]
ReadsPapers = Annotated[Citizen, Security(get_current_citizen, scopes=[Scope.DOCUMENTS_READ])]
WritesPapers = Annotated[Citizen, Security(get_current_citizen, scopes=[Scope.DOCUMENTS_WRITE])]
WritesGrants = Annotated[Citizen, Security(get_current_citizen, scopes=[Scope.GRANTS_WRITE])]
# Making a share, or a dossier that sends papers, shows those papers: it takes both scopes.
SharesPapers = Annotated[
    Citizen, Security(get_current_citizen, scopes=[Scope.GRANTS_WRITE, Scope.DOCUMENTS_READ])
]
WritesDossiers = Annotated[
    Citizen, Security(get_current_citizen, scopes=[Scope.DOSSIERS_WRITE, Scope.DOCUMENTS_READ])
]
# A paper uploaded into a dossier is stored in the vault too.
FilesPapers = Annotated[
    Citizen,
    Security(
        get_current_citizen,
        scopes=[Scope.DOSSIERS_WRITE, Scope.DOCUMENTS_READ, Scope.DOCUMENTS_WRITE],
    ),
]
CurrentOfficer = Annotated[OfficerSession, Depends(get_current_officer)]
CurrentAgency = Annotated[Accessor, Depends(get_current_agency)]
