"""Request-scoped dependencies: the unit of work, the backend, the caller's identity."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session

from vault import accounts, db
from vault.backend import Backend
from vault.errors import AuthenticationFailed
from vault.models import Citizen
from vault.settings import Settings

_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
citizen_bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", scheme_name="citizen")


def get_session(request: Request) -> Iterator[Session]:
    writes = request.method not in _SAFE_METHODS
    with db.unit_of_work(request.app.state.engine, writes=writes) as session:
        yield session


def get_backend(request: Request) -> Backend:
    return request.app.state.backend  # type: ignore[no-any-return]


def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def get_current_citizen(
    request: Request, token: Annotated[str, Depends(citizen_bearer)]
) -> Citizen:
    # A short session of its own: an upload must not hold a transaction open while it streams.
    with db.unit_of_work(request.app.state.engine, writes=False) as session:
        citizen = accounts.citizen_for_token(session, token)
    if citizen is None:
        raise AuthenticationFailed("The access token is invalid or has expired; log in again.")
    return citizen


# scope="function": commit before the response is sent, so that a failed commit is a 500,
# not a 201 for a paper that was never saved.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
BackendDep = Annotated[Backend, Depends(get_backend)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
CurrentCitizen = Annotated[Citizen, Depends(get_current_citizen)]
