"""Assisted service: an officer asks to act for a citizen, the citizen consents (in their own
session, or by typing their password on the counter's screen), the officer opens an acting
session; the citizen sees every session and what was done in it, and ends any of them."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlmodel import Session

from vault import db
from vault.accounts import acting, citizens, officers
from vault.accounts.acting import Acting
from vault.accounts.models import Citizen
from vault.accounts.officers import OfficerSession
from vault.api.deps import (
    NO_STORE,
    BackendDep,
    CurrentCitizen,
    CurrentOfficer,
    EngineDep,
    SessionDep,
)
from vault.api.schemas import (
    ActingSessionCreated,
    AgencyRef,
    AssistActionPublic,
    AssistRequestCreate,
    AssistRequestCreated,
    AssistRequestPublic,
    AssistSessionPublic,
    CounterConsent,
    CurrentActingPublic,
    DelegatePublic,
    OfficerPublic,
)
from vault.assist import requests, sessions
from vault.assist.models import AssistRequest
from vault.kit.errors import (
    AuthenticationFailed,
    Forbidden,
    InvalidInput,
    NotWhileActing,
)

router = APIRouter(prefix="/assist", tags=["assist"])
_any_bearer = HTTPBearer(auto_error=False, scheme_name="any")


Caller = sessions.Caller


def get_caller(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_any_bearer)],
    session: SessionDep,
) -> Caller:
    """For the routes the citizen, the officer and the acting token's holder all use: which of
    them this is. The route decides what each may do."""
    token = credentials.credentials if credentials else ""
    if token:
        citizen = citizens.citizen_for_token(session, token)
        if citizen is not None:
            return citizen
        officer = officers.session_for_token(session, token)
        if officer is not None:
            return officer
        found = acting.resolve(session, token)
        if found is not None:
            return found
    raise AuthenticationFailed("A citizen's or an officer's bearer token is required.")


AnyCaller = Annotated[Caller, Depends(get_caller)]


@router.post("/requests", status_code=status.HTTP_201_CREATED, response_model=AssistRequestCreated)
def ask(
    body: AssistRequestCreate, officer: CurrentOfficer, session: SessionDep, backend: BackendDep
) -> AssistRequestCreated:
    """The officer, with the citizen in front of them, asks to act for them. Nothing is open
    until the citizen consents."""
    view = requests.ask(
        session,
        backend.keyring,
        officer,
        national_id_number=body.national_id,
        scopes=body.scopes,
        minutes=body.minutes,
        identity_check=body.identity_check,
        note=body.note,
    )
    return AssistRequestCreated(
        id=view.request.id,
        status=view.request.status,
        citizen_name_masked=view.citizen_name_masked,
        expires_at=view.request.expires_at,
    )


@router.get("/requests", response_model=list[AssistRequestPublic])
def list_pending(
    citizen: CurrentCitizen, session: SessionDep, backend: BackendDep
) -> list[AssistRequestPublic]:
    """Requests waiting for the citizen's answer, with who asks, for what and for how long."""
    return [
        AssistRequestPublic.of(v) for v in requests.pending_for(session, backend.keyring, citizen)
    ]


@router.get("/requests/{request_id}", response_model=AssistRequestPublic)
def read_request(
    request_id: uuid.UUID, caller: AnyCaller, session: SessionDep, backend: BackendDep
) -> AssistRequestPublic:
    """The citizen's own request, or the officer's (the counter waits on its status)."""
    row = requests.for_caller(session, caller, request_id)
    return AssistRequestPublic.of(requests.view(session, backend.keyring, row))


@router.post("/requests/{request_id}/approve", response_model=AssistRequestPublic)
def approve(
    request_id: uuid.UUID,
    request: Request,
    caller: AnyCaller,
    session: SessionDep,
    backend: BackendDep,
    engine: EngineDep,
    body: Annotated[CounterConsent | None, Body()] = None,
) -> AssistRequestPublic:
    """The citizen's consent: with their own token, or with the officer's token and the
    citizen's password typed on the counter's screen. The officer's token alone is refused."""
    if isinstance(caller, Citizen):
        row = requests.approve(session, caller, request_id)
    elif isinstance(caller, OfficerSession):
        if body is None:
            raise InvalidInput(
                "Only the citizen consents: their password, typed by them, is required.",
                field="password",
            )
        client = request.client.host if request.client else "unknown"
        row = consent_at_counter(session, engine, caller, request_id, body.password, client)
    else:
        raise NotWhileActing("Someone acting for a citizen cannot approve a request.")
    return AssistRequestPublic.of(requests.view(session, backend.keyring, row))


@router.delete("/requests/{request_id}", response_model=AssistRequestPublic)
def withdraw(
    request_id: uuid.UUID, officer: CurrentOfficer, session: SessionDep, backend: BackendDep
) -> AssistRequestPublic:
    """The officer who asked takes back a request not yet used."""
    row = requests.withdraw(session, officer, request_id)
    return AssistRequestPublic.of(requests.view(session, backend.keyring, row))


def consent_at_counter(
    session: Session,
    engine: Engine,
    officer: OfficerSession,
    request_id: uuid.UUID,
    password: str,
    client: str,
) -> AssistRequest:
    """The citizen's password typed on the counter's screen (this route and the counter's
    page). Counted as a login attempt on the citizen's account in a unit of work of its own,
    committed before the password is looked at; this request has only read until then, and
    ends its transaction first so as not to hold SQLite's write lock against the count."""
    row = requests.awaiting_answer(requests.for_officer(session, officer, request_id))
    session.commit()
    with db.unit_of_work(engine) as counting:
        attempt = citizens.count_login_of(counting, row.citizen_id, client=client)
    return requests.approve_at_counter(
        session, officer, request_id, password=password, attempt=attempt
    )


@router.post("/requests/{request_id}/decline", response_model=AssistRequestPublic)
def decline(
    request_id: uuid.UUID, citizen: CurrentCitizen, session: SessionDep, backend: BackendDep
) -> AssistRequestPublic:
    row = requests.decline(session, citizen, request_id)
    return AssistRequestPublic.of(requests.view(session, backend.keyring, row))


@router.post(
    "/requests/{request_id}/session",
    status_code=status.HTTP_201_CREATED,
    response_model=ActingSessionCreated,
    dependencies=[NO_STORE],
)
def open_session(
    request_id: uuid.UUID, officer: CurrentOfficer, session: SessionDep, backend: BackendDep
) -> ActingSessionCreated:
    """The acting token for an approved request: the citizen's API, within its scopes, until
    `expires_at` or until the citizen or the officer ends it."""
    opened = requests.open_session(session, backend.keyring, officer, request_id)
    return ActingSessionCreated(
        id=opened.session.id,
        access_token=opened.token,
        expires_at=opened.session.expires_at,
        scopes=sorted(acting.scopes_of_text(opened.session.scopes)),
    )


@router.get("/sessions", response_model=list[AssistSessionPublic])
def list_sessions(
    citizen: CurrentCitizen, session: SessionDep, backend: BackendDep
) -> list[AssistSessionPublic]:
    """Every session on the citizen's vault, newest first, with each action done in it."""
    return [_session_public(r) for r in sessions.history(session, backend.keyring, citizen)]


@router.get("/sessions/current", response_model=CurrentActingPublic)
def current_session(
    caller: AnyCaller, session: SessionDep, backend: BackendDep
) -> CurrentActingPublic:
    """For the holder of an acting token: whose vault, allowed what, until when."""
    if not isinstance(caller, Acting):
        raise Forbidden("Only an acting token has a current acting session.")
    return CurrentActingPublic(
        id=caller.session.id,
        citizen_name=citizens.profile(session, backend.keyring, caller.citizen).full_name,
        scopes=sorted(caller.scopes),
        expires_at=caller.session.expires_at,
    )


@router.delete("/sessions/{session_id}", status_code=status.HTTP_204_NO_CONTENT)
def end_session(
    session_id: uuid.UUID, caller: AnyCaller, session: SessionDep, backend: BackendDep
) -> None:
    """Ends it at once: by the citizen, by the officer or delegate who holds it (with their own
    token), or with its own token. The very next request with its token is refused. Anyone
    else is told it does not exist."""
    sessions.end_by(session, backend.keyring, caller, session_id)


def _session_public(record: sessions.Record) -> AssistSessionPublic:
    row, actor = record.session, record.actor
    officer = None
    if actor.username is not None:
        agency = actor.agency
        officer = OfficerPublic(
            username=actor.username,
            name=actor.name,
            agency=AgencyRef(
                code=agency.code if agency else "", name=agency.name if agency else ""
            ),
        )
    delegate = DelegatePublic(id=actor.delegate_id, name=actor.name) if actor.delegate_id else None
    return AssistSessionPublic(
        id=row.id,
        kind=row.kind,
        officer=officer,
        delegate=delegate,
        scopes=sorted(acting.scopes_of_text(row.scopes)),
        started_at=row.started_at,
        expires_at=row.expires_at,
        ended_at=record.ended_at,
        end_reason=record.end_reason,
        live=record.live,
        actions=[
            AssistActionPublic(
                time=a.time,
                action=a.action,
                outcome=a.outcome,
                document_id=a.document_id,
                grant_id=a.grant_id,
                doc_type=a.doc_type,
                text=a.text,
            )
            for a in record.actions
        ],
    )
