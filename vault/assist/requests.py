"""An officer at the counter asks to act for a citizen; only the citizen can say yes.

The citizen consents in their own session, or on the counter's screen by typing their own
password; the officer alone never can. An approved request opens one acting session, limited
in scopes and minutes, which the citizen or the officer may end at any time. Every step is in
the citizen's audit chain, and the citizen is told when a session starts and what was done in
it when it ends (SingPass's proxy scheme was abused precisely because nobody was told).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from vault import audit, db
from vault.accounts import acting, citizens, logins
from vault.accounts.acting import Acting, Opened
from vault.accounts.models import ActorKind, Citizen, Officer, Scope
from vault.accounts.officers import OfficerSession
from vault.agencies.models import Agency
from vault.assist import sessions
from vault.assist.models import AssistRequest, ConsentMethod, IdentityCheck, RequestStatus
from vault.keys import Keyring
from vault.kit import text
from vault.kit.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    NotWhileActing,
    TooManyAttempts,
    WrongPassword,
)
from vault.notices import sealing

# How long the citizen has to answer, and the officer to open the session once approved.
ANSWER_MINUTES = 15
PASSWORD_TRIES = 5
# A counter serves one person at a time; more than this an hour is someone harvesting names.
REQUESTS_PER_HOUR = 30
MAX_NOTE = 300
_NOTE_LABEL = b"dvlt/v1/assist-note"


@dataclass(frozen=True)
class RequestView:
    request: AssistRequest
    officer: Officer
    agency: Agency
    note: str | None
    citizen_name_masked: str

    @property
    def status(self) -> RequestStatus:
        """As the citizen and the officer should see it: an answer not given in time is
        expired, whether or not a later request has recorded that yet."""
        row = self.request
        waiting = row.status in (RequestStatus.PENDING, RequestStatus.APPROVED)
        if waiting and db.aware(row.expires_at) <= db.utc_now():
            return RequestStatus.EXPIRED
        return row.status

    @property
    def scopes(self) -> list[Scope]:
        return sorted(acting.scopes_of_text(self.request.scopes))


def ask(
    session: Session,
    keyring: Keyring,
    officer: OfficerSession,
    *,
    national_id_number: str,
    scopes: Iterable[str],
    minutes: int,
    identity_check: IdentityCheck,
    note: str | None,
) -> RequestView:
    wanted = acting.checked_scopes(scopes)
    acting.checked_minutes(minutes)
    note = text.one_line(note) or None
    if note is not None and len(note) > MAX_NOTE:
        raise InvalidInput(f"A note has at most {MAX_NOTE} characters.", field="note")
    _within_hourly_limit(session, officer)
    citizen = citizens.by_national_id(session, keyring, national_id_number)
    if citizen is None:
        raise NotFound("No vault belongs to this personal identification number.")
    row = AssistRequest(
        citizen_id=citizen.id,
        officer_id=officer.officer.id,
        agency_id=officer.agency.id,
        scopes=acting.encode_scopes(wanted),
        minutes=minutes,
        identity_check=identity_check,
        status=RequestStatus.PENDING,
        expires_at=db.utc_now() + timedelta(minutes=ANSWER_MINUTES),
    )
    if note is not None:
        row.sealed_note = sealing.seal(session, keyring, citizen.id, _NOTE_LABEL, row.id, note)
    session.add(row)
    session.flush()
    _record(session, row, "assist.request", officer.officer, {"identity_check": identity_check})
    name = citizens.profile(session, keyring, citizen).full_name
    return RequestView(row, officer.officer, officer.agency, note, text.mask_name(name))


def _within_hourly_limit(session: Session, officer: OfficerSession) -> None:
    asked = session.exec(
        select(func.count())
        .select_from(AssistRequest)
        .where(
            AssistRequest.officer_id == officer.officer.id,
            col(AssistRequest.created_at) > db.utc_now() - timedelta(hours=1),
        )
    ).one()
    if asked >= REQUESTS_PER_HOUR:
        raise TooManyAttempts("Too many requests to act in the last hour; wait.", retry_after=3600)


def pending_for(session: Session, keyring: Keyring, citizen: Citizen) -> list[RequestView]:
    """What waits for the citizen's answer, newest first."""
    rows = session.exec(
        select(AssistRequest, Officer, Agency)
        .join(Officer, col(Officer.id) == AssistRequest.officer_id)
        .join(Agency, col(Agency.id) == AssistRequest.agency_id)
        .where(
            AssistRequest.citizen_id == citizen.id,
            AssistRequest.status == RequestStatus.PENDING,
            col(AssistRequest.expires_at) > db.utc_now(),
        )
        .order_by(col(AssistRequest.created_at).desc())
    ).all()
    name = text.mask_name(citizens.profile(session, keyring, citizen).full_name) if rows else ""
    return [
        RequestView(row, officer, agency, _note(session, keyring, row), name)
        for row, officer, agency in rows
    ]


def view(session: Session, keyring: Keyring, request: AssistRequest) -> RequestView:
    officer = session.get(Officer, request.officer_id)
    agency = session.get(Agency, request.agency_id)
    citizen = session.get(Citizen, request.citizen_id)
    assert officer is not None and agency is not None and citizen is not None
    name = text.mask_name(citizens.profile(session, keyring, citizen).full_name)
    return RequestView(request, officer, agency, _note(session, keyring, request), name)


def _note(session: Session, keyring: Keyring, row: AssistRequest) -> str | None:
    if row.sealed_note is None:
        return None
    return sealing.unseal(session, keyring, row.citizen_id, _NOTE_LABEL, row.id, row.sealed_note)


def for_citizen(session: Session, citizen: Citizen, request_id: uuid.UUID) -> AssistRequest:
    row = session.get(AssistRequest, request_id)
    if row is None or row.citizen_id != citizen.id:
        raise NotFound("No such request.")
    return row


def for_caller(
    session: Session, caller: Citizen | OfficerSession | Acting, request_id: uuid.UUID
) -> AssistRequest:
    """The citizen's own request, or the asking officer's; never one for someone acting."""
    if isinstance(caller, Citizen):
        return for_citizen(session, caller, request_id)
    if isinstance(caller, OfficerSession):
        return for_officer(session, caller, request_id)
    raise NotWhileActing("Only the citizen or the officer who asked can see a request.")


def for_officer(session: Session, officer: OfficerSession, request_id: uuid.UUID) -> AssistRequest:
    """Only the officer who asked may use the request: a colleague at the next desk may not."""
    row = session.get(AssistRequest, request_id)
    if row is None or row.officer_id != officer.officer.id:
        raise NotFound("No such request.")
    return row


def approve(session: Session, citizen: Citizen, request_id: uuid.UUID) -> AssistRequest:
    """The citizen says yes in their own session."""
    row = awaiting_answer(for_citizen(session, citizen, request_id))
    return _decide(session, row, RequestStatus.APPROVED, ConsentMethod.CITIZEN_SESSION)


def decline(session: Session, citizen: Citizen, request_id: uuid.UUID) -> AssistRequest:
    row = awaiting_answer(for_citizen(session, citizen, request_id))
    return _decide(session, row, RequestStatus.DECLINED, None)


def approve_at_counter(
    session: Session,
    officer: OfficerSession,
    request_id: uuid.UUID,
    *,
    password: str,
    attempt: logins.Attempt,
) -> AssistRequest:
    """The citizen types their own password on the counter's screen. `attempt` is a login
    attempt on the citizen's account, counted before the password is looked at, so the
    counter cannot be used to guess a password faster than the login page. Five wrong
    passwords end the request."""
    row = awaiting_answer(for_officer(session, officer, request_id))
    citizen = session.get(Citizen, row.citizen_id)
    assert citizen is not None
    if logins.verify(citizen.password_hash, password):
        attempt.succeeded(session)
        return _decide(session, row, RequestStatus.APPROVED, ConsentMethod.COUNTER_PASSWORD)
    _count_wrong_password(session, row)
    attempt.failed(
        session,
        audit.Event(
            "assist.consent_failed",
            subject=row.citizen_id,
            actor_type="officer",
            actor_id=officer.officer.username,
            agency_id=officer.agency.id,
            outcome=audit.Outcome.DENIED,
            details={"request": str(row.id)},
        ),
    )
    left = PASSWORD_TRIES - row.password_failures
    if left <= 0:
        raise TooManyAttempts(
            "Five wrong passwords: this request is closed. Ask again.", retry_after=0
        )
    raise WrongPassword(f"Wrong password; {left} tries left.", tries_left=left)


def withdraw(session: Session, officer: OfficerSession, request_id: uuid.UUID) -> AssistRequest:
    """The officer takes back a request not yet used (the citizen said no at the counter, or
    the wrong scopes were asked for)."""
    row = for_officer(session, officer, request_id)
    if row.status not in (RequestStatus.PENDING, RequestStatus.APPROVED):
        raise Conflict(f"This request is {row.status.value}; it can no longer be withdrawn.")
    waiting = (RequestStatus.PENDING, RequestStatus.APPROVED)
    _move(session, row, waiting, RequestStatus.WITHDRAWN, decided_at=db.utc_now())
    _record(session, row, "assist.withdraw", officer.officer, {})
    return row


def _count_wrong_password(session: Session, row: AssistRequest) -> None:
    """Counted whatever becomes of the transaction: the refusal rolls the request's unit of
    work back, so the count is made again in one of its own, once."""
    row.password_failures += 1
    locked = row.password_failures >= PASSWORD_TRIES
    if locked:
        row.status = RequestStatus.LOCKED
        row.decided_at = db.utc_now()
    session.add(row)
    session.flush()
    engine = session.get_bind()
    request_id = row.id

    def count() -> None:
        with db.unit_of_work(engine) as own:  # type: ignore[arg-type]
            values: dict[str, object] = {
                "password_failures": col(AssistRequest.password_failures) + 1
            }
            own.execute(
                update(AssistRequest).where(col(AssistRequest.id) == request_id).values(**values)
            )
            own.execute(
                update(AssistRequest)
                .where(
                    col(AssistRequest.id) == request_id,
                    col(AssistRequest.password_failures) >= PASSWORD_TRIES,
                )
                .values(status=RequestStatus.LOCKED, decided_at=db.utc_now())
            )

    db.after_rollback(session, count)


def awaiting_answer(row: AssistRequest) -> AssistRequest:
    """The request, if it still waits for the citizen's answer; a conflict otherwise."""
    if row.status == RequestStatus.PENDING and db.aware(row.expires_at) <= db.utc_now():
        raise Conflict("This request was not answered in time; ask again.")
    if row.status != RequestStatus.PENDING:
        raise Conflict(f"This request is {row.status.value}, not waiting for an answer.")
    return row


def _decide(
    session: Session, row: AssistRequest, status: RequestStatus, consent: ConsentMethod | None
) -> AssistRequest:
    now = db.utc_now()
    # Approved: the officer has the same while to open the session.
    later = now + timedelta(minutes=ANSWER_MINUTES)
    _move(
        session,
        row,
        (RequestStatus.PENDING,),
        status,
        consent=consent,
        decided_at=now,
        expires_at=later,
    )
    action = "assist.approve" if status == RequestStatus.APPROVED else "assist.decline"
    details = {"request": str(row.id)} | ({"consent": consent.value} if consent else {})
    audit.append(
        session,
        audit.Event(
            action,
            subject=row.citizen_id,
            actor_type="citizen",
            actor_id=str(row.citizen_id),
            agency_id=row.agency_id,
            details=details,
        ),
    )
    return row


def open_session(
    session: Session, keyring: Keyring, officer: OfficerSession, request_id: uuid.UUID
) -> Opened:
    """The acting token, once per approved request; its minutes start now."""
    row = for_officer(session, officer, request_id)
    if row.status == RequestStatus.APPROVED and db.aware(row.expires_at) <= db.utc_now():
        raise Conflict("The approval was not used in time; ask again.")
    if row.status != RequestStatus.APPROVED:
        raise Conflict(f"This request is {row.status.value}; only an approved one opens.")
    # Taken first, so that two opens racing on one approval cannot both get a token.
    _move(session, row, (RequestStatus.APPROVED,), RequestStatus.USED)
    opened = acting.open_session(
        session,
        citizen_id=row.citizen_id,
        kind=ActorKind.OFFICER,
        origin_id=row.id,
        scopes=acting.scopes_of_text(row.scopes),
        expires_at=db.utc_now() + timedelta(minutes=row.minutes),
        officer_id=officer.officer.id,
    )
    row.acting_session_id = opened.session.id
    session.add(row)
    session.flush()
    details = {"session": str(opened.session.id), "scopes": row.scopes, "minutes": row.minutes}
    _record(session, row, "assist.session_start", officer.officer, details)
    sessions.started(session, keyring, opened.session)
    return opened


def _move(
    session: Session,
    row: AssistRequest,
    from_states: tuple[RequestStatus, ...],
    to: RequestStatus,
    **values: object,
) -> None:
    """A compare-and-set: of two answers, or two session opens, racing on one request, only
    one wins; the other is a conflict."""
    moved = session.execute(
        update(AssistRequest)
        .where(col(AssistRequest.id) == row.id, col(AssistRequest.status).in_(from_states))
        .values(status=to, **values)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("This request was answered or used in the meantime.")
    session.refresh(row)


def _record(
    session: Session, row: AssistRequest, action: str, officer: Officer, details: dict[str, object]
) -> None:
    audit.append(
        session,
        audit.Event(
            action,
            subject=row.citizen_id,
            actor_type="officer",
            actor_id=officer.username,
            agency_id=row.agency_id,
            details={"request": str(row.id), **details},
        ),
    )
