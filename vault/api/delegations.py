"""Family and helpers: delegations between citizens, and parents keeping their children's
vaults. Every route here is the citizen's in person (`CurrentCitizen`): an acting token is
refused, so a session opened from a delegation can never make, accept or end one."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Body, status
from sqlalchemy import Engine
from sqlmodel import Session

from vault import db
from vault.accounts import acting
from vault.accounts.models import Citizen
from vault.api.deps import NO_STORE, BackendDep, CurrentCitizen, EngineDep, SessionDep
from vault.api.schemas import (
    ActingSessionCreated,
    DelegationCreate,
    DelegationPublic,
    DelegationSessionCreate,
    DependentCreate,
    DependentPublic,
)
from vault.assist import delegations, dependents
from vault.blobs.backend import Backend

router = APIRouter(tags=["delegations"])


@router.post("/delegations", status_code=status.HTTP_201_CREATED, response_model=DelegationPublic)
def offer(
    body: DelegationCreate,
    citizen: CurrentCitizen,
    session: SessionDep,
    backend: BackendDep,
) -> DelegationPublic:
    """Offer someone (by their personal identification number) to act for you within
    `scopes` until the end of `expires_on`; nothing is allowed until they accept, and until
    then you see their name masked. Ten offers and twenty numbers looked up in 24 hours at
    most (429)."""
    delegations.count_look_up(session, citizen.id)
    session.commit()  # the look-up stays counted when the offer is refused
    view = delegations.offer(
        session,
        backend.keyring,
        citizen,
        national_id_number=body.national_id,
        scopes=body.scopes,
        expires_on=body.expires_on,
    )
    return DelegationPublic.of(view)


@router.get("/delegations", response_model=list[DelegationPublic])
def list_delegations(
    citizen: CurrentCitizen, session: SessionDep, backend: BackendDep
) -> list[DelegationPublic]:
    """Given by you and given to you, newest first, each with its status."""
    return [DelegationPublic.of(v) for v in delegations.list_for(session, backend.keyring, citizen)]


@router.get("/delegations/{delegation_id}", response_model=DelegationPublic)
def read_delegation(
    delegation_id: uuid.UUID, citizen: CurrentCitizen, session: SessionDep, backend: BackendDep
) -> DelegationPublic:
    row = delegations.get(session, citizen, delegation_id)
    return DelegationPublic.of(delegations.view(session, backend.keyring, citizen, row))


@router.post("/delegations/{delegation_id}/accept", response_model=DelegationPublic)
def accept(
    delegation_id: uuid.UUID, citizen: CurrentCitizen, session: SessionDep, backend: BackendDep
) -> DelegationPublic:
    """The delegate says yes; the citizen who offered is told."""
    row = delegations.accept(session, backend.keyring, citizen, delegation_id)
    return DelegationPublic.of(delegations.view(session, backend.keyring, citizen, row))


@router.post("/delegations/{delegation_id}/decline", response_model=DelegationPublic)
def decline(
    delegation_id: uuid.UUID, citizen: CurrentCitizen, session: SessionDep, backend: BackendDep
) -> DelegationPublic:
    row = delegations.decline(session, citizen, delegation_id)
    return DelegationPublic.of(delegations.view(session, backend.keyring, citizen, row))


@router.delete("/delegations/{delegation_id}", status_code=status.HTTP_204_NO_CONTENT)
def end(
    delegation_id: uuid.UUID, citizen: CurrentCitizen, session: SessionDep, backend: BackendDep
) -> None:
    """Revoked by the citizen who gave it, or given up by the delegate: at once, and every
    live session it opened ends with it (their tokens are refused from the next request)."""
    delegations.end(session, backend.keyring, citizen, delegation_id)


@router.post(
    "/delegations/{delegation_id}/session",
    status_code=status.HTTP_201_CREATED,
    response_model=ActingSessionCreated,
    dependencies=[NO_STORE],
)
def open_session(
    delegation_id: uuid.UUID,
    citizen: CurrentCitizen,
    session: SessionDep,
    backend: BackendDep,
    body: Annotated[DelegationSessionCreate | None, Body()] = None,
) -> ActingSessionCreated:
    """The delegate's acting token on the other citizen's vault, as an officer's: within the
    delegation's scopes, 30 minutes unless asked otherwise (at most 60), never past its end."""
    asked = body or DelegationSessionCreate()
    opened = delegations.open_session(
        session,
        backend.keyring,
        citizen,
        delegation_id,
        scopes=asked.scopes,
        minutes=asked.minutes,
    )
    return ActingSessionCreated(
        id=opened.session.id,
        access_token=opened.token,
        expires_at=opened.session.expires_at,
        scopes=sorted(acting.scopes_of_text(opened.session.scopes)),
    )


@router.post("/dependents", status_code=status.HTTP_201_CREATED, response_model=DependentPublic)
def add_dependent(
    body: DependentCreate,
    citizen: CurrentCitizen,
    session: SessionDep,
    backend: BackendDep,
    engine: EngineDep,
) -> DependentPublic:
    """Your child's own vault, kept by you until their 18th birthday, shown by a birth
    certificate among your papers that was issued into your vault or certified at the counter,
    with the child's number recorded with it. A second parent gets their own hold on the same
    vault (two at most, never once the child has claimed it); five attempts a day to join."""
    view = add(
        session,
        backend,
        engine,
        citizen,
        national_id=body.national_id,
        full_name=body.full_name,
        date_of_birth=body.date_of_birth,
        relationship=body.relationship,
        birth_certificate_id=body.birth_certificate_id,
    )
    return _dependent(view)


def add(
    session: Session,
    backend: Backend,
    engine: Engine,
    parent: Citizen,
    *,
    national_id: str,
    full_name: str,
    date_of_birth: date,
    relationship: str,
    birth_certificate_id: uuid.UUID,
) -> dependents.DependentView:
    """Adding a child as the API and the page do it."""
    # An attempt to join a child's vault is counted in a unit of work of its own, committed
    # before anything is checked; this request has only read so far, and ends its transaction
    # so as not to hold SQLite's write lock against the count.
    session.commit()
    with db.unit_of_work(engine) as counting:
        attempt = dependents.count_join(
            counting, backend.keyring, parent, national_id_number=national_id
        )
    return dependents.add(
        session,
        backend,
        parent,
        national_id_number=national_id,
        full_name=full_name,
        date_of_birth=date_of_birth,
        relationship=relationship,
        birth_certificate_id=birth_certificate_id,
        attempt=attempt,
    )


@router.get("/dependents", response_model=list[DependentPublic])
def list_dependents(
    citizen: CurrentCitizen, session: SessionDep, backend: BackendDep
) -> list[DependentPublic]:
    return [_dependent(v) for v in dependents.list_for(session, backend.keyring, citizen)]


def _dependent(view: dependents.DependentView) -> DependentPublic:
    return DependentPublic(
        id=view.child.id,
        full_name=view.full_name,
        date_of_birth=view.date_of_birth,
        relationship=view.guardianship.relationship,
        birth_certificate_id=view.guardianship.birth_certificate_id,
        delegation_id=view.delegation.id,
        status=view.status,
        adult_on=view.adult_on,
        claimed=view.claimed,
    )
