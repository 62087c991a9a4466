"""A forgotten password: the officer's reset code at the counter, the citizen's own recovery
codes, and the reset itself (vault.accounts.recovery has the rules)."""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from sqlalchemy import Engine
from sqlmodel import Session

from vault import db
from vault.accounts import recovery
from vault.api.deps import (
    NO_STORE,
    BackendDep,
    CurrentCitizen,
    CurrentOfficer,
    EngineDep,
    SessionDep,
)
from vault.api.schemas import (
    PasswordReset,
    PasswordResetCode,
    PasswordResetCreate,
    RecoveryCodesPublic,
)
from vault.assist import delegations
from vault.blobs.backend import Backend

router = APIRouter(tags=["recovery"])


@router.post(
    "/assist/password-resets",
    status_code=status.HTTP_201_CREATED,
    response_model=PasswordResetCode,
    dependencies=[NO_STORE],
)
def issue_reset_code(
    body: PasswordResetCreate, officer: CurrentOfficer, session: SessionDep, backend: BackendDep
) -> PasswordResetCode:
    """At the counter, once the officer has checked the person's identity: a code the citizen
    types with a new password at `POST /auth/reset`, valid 15 minutes, shown once."""
    issued = recovery.issue_officer_code(
        session,
        backend.keyring,
        officer=officer,
        national_id_number=body.national_id,
        identity_check=body.identity_check,
    )
    return PasswordResetCode(reset_code=issued.code, expires_at=issued.expires_at)


@router.post("/auth/reset", status_code=status.HTTP_204_NO_CONTENT)
def reset_password(
    body: PasswordReset,
    request: Request,
    session: SessionDep,
    backend: BackendDep,
    engine: EngineDep,
) -> None:
    """A new password with an officer's reset code or a recovery code. Every token and session
    of the account ends. A wrong number or code: 401, alike; five wrong codes in 15 minutes
    block the account's resets for 15 minutes (429)."""
    reset(request, session, backend, engine, body.national_id, body.reset_code, body.new_password)


def reset(
    request: Request,
    session: Session,
    backend: Backend,
    engine: Engine,
    national_id: str,
    code: str,
    new_password: str,
) -> None:
    """The reset as the API and the page do it."""
    client = request.client.host if request.client else "unknown"
    # Counted in a unit of work of its own, committed before the code is looked at: the count
    # holds when the reset is refused and this request rolls back.
    with db.unit_of_work(engine) as counting:
        attempt = recovery.begin_reset(
            counting,
            backend.keyring,
            national_id_number=national_id,
            new_password=new_password,
            client=client,
        )
    done = recovery.reset_password(
        session,
        backend.keyring,
        attempt=attempt,
        national_id_number=national_id,
        code=code,
        new_password=new_password,
    )
    delegations.after_reset(session, backend.keyring, done)


@router.post(
    "/citizens/me/recovery-codes",
    status_code=status.HTTP_201_CREATED,
    response_model=RecoveryCodesPublic,
    dependencies=[NO_STORE],
)
def make_recovery_codes(
    citizen: CurrentCitizen, session: SessionDep, backend: BackendDep
) -> RecoveryCodesPublic:
    """Ten one-time codes to print, each usable once as `reset_code` at `POST /auth/reset`;
    the last set stops working. The citizen's own token only."""
    return RecoveryCodesPublic(
        codes=recovery.make_recovery_codes(session, backend.keyring, citizen)
    )
