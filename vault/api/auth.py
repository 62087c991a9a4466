from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from vault import db
from vault.accounts import acting, citizens
from vault.accounts.models import EndReason
from vault.api.deps import NO_STORE, BackendDep, EngineDep, SessionDep, SettingsDep, citizen_bearer
from vault.api.schemas import TokenPublic
from vault.assist import sessions

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/token", response_model=TokenPublic, dependencies=[NO_STORE])
def login_citizen(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    session: SessionDep,
    backend: BackendDep,
    engine: EngineDep,
    settings: SettingsDep,
) -> TokenPublic:
    """OAuth2 password flow: `username` is the 12-digit personal identification number."""
    client = request.client.host if request.client else "unknown"
    # Counted in a unit of work of its own, committed before the password is checked: the
    # count holds when the login is refused and this request rolls back.
    with db.unit_of_work(engine) as counting:
        attempt = citizens.count_login(
            counting, backend.keyring, national_id_number=form.username, client=client
        )
    citizen = citizens.authenticate(
        session,
        backend.keyring,
        attempt=attempt,
        national_id_number=form.username,
        password=form.password,
        user_agent=request.headers.get("user-agent", ""),
    )
    issued = citizens.issue_token(session, citizen, ttl_seconds=settings.token_ttl_seconds)
    return TokenPublic(access_token=issued.token, expires_in=issued.expires_in)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout_citizen(
    token: Annotated[str, Depends(citizen_bearer)], session: SessionDep, backend: BackendDep
) -> None:
    """The token stops working: a citizen's (with the acting sessions they hold as a
    delegate), or an acting token's own session."""
    found = acting.resolve(session, token)
    if found is not None:
        sessions.end(session, backend.keyring, found.session, EndReason.ACTOR)
        return
    citizens.log_out(session, token)
