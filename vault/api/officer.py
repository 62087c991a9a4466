"""Counter officers on the API: people, not machines, so their token names them and their
agency. It opens the assisted-service routes only; the agency's client-credential routes and
the citizen's routes refuse it, as this one refuses theirs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from vault import db
from vault.accounts import officers
from vault.api.deps import (
    NO_STORE,
    CurrentOfficer,
    EngineDep,
    SessionDep,
    SettingsDep,
    officer_bearer,
)
from vault.api.schemas import AgencyRef, OfficerPublic, OfficerTokenPublic

router = APIRouter(prefix="/officer", tags=["officer"])


def officer_public(found: officers.OfficerSession) -> OfficerPublic:
    return OfficerPublic(
        username=found.officer.username,
        name=found.officer.full_name,
        agency=AgencyRef(code=found.agency.code, name=found.agency.name),
    )


@router.post("/token", response_model=OfficerTokenPublic, dependencies=[NO_STORE])
def login_officer(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    session: SessionDep,
    engine: EngineDep,
    settings: SettingsDep,
) -> OfficerTokenPublic:
    """OAuth2 password flow with the officer's own username and password (the counter pages'
    login)."""
    client = request.client.host if request.client else "unknown"
    # Counted in a unit of work of its own, committed before the password is checked.
    with db.unit_of_work(engine) as counting:
        attempt = officers.count_login(counting, username=form.username, client=client)
    ttl = settings.token_ttl_seconds
    token = officers.log_in(
        session, attempt=attempt, username=form.username, password=form.password, ttl_seconds=ttl
    )
    found = officers.session_for_token(session, token)
    assert found is not None
    return OfficerTokenPublic(access_token=token, expires_in=ttl, officer=officer_public(found))


@router.get("/me", response_model=OfficerPublic)
def read_officer(officer: CurrentOfficer) -> OfficerPublic:
    return officer_public(officer)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout_officer(
    token: Annotated[str, Depends(officer_bearer)], officer: CurrentOfficer, session: SessionDep
) -> None:
    officers.log_out(session, token)
