"""Delegations: a citizen lets a family member or a helper act for them.

Citizen A offers a delegation to citizen B (by B's personal identification number), limited in
scopes and until a day at most a year away; B accepts or declines; once accepted, B opens acting
sessions on A's vault with the same rules as an officer's (scopes within the delegation's, at
most an hour, never past the delegation's end). A sees every session and what was done in it
(`vault.assist.sessions`), and revokes at once: every live session it opened ends with it.
B may give it up. A parent's hold on a child's vault is a delegation too (`kind` guardian,
made by `vault.assist.dependents`), which ends on the child's 18th birthday.

Only the citizen in person offers, revokes, accepts or declines: the API's routes refuse an
acting token, so a session opened from a delegation can never make another.

An offer is made by a personal identification number, so it must not turn numbers into names:
until B accepts, A sees B's name masked (`Nguyễn T** L**`, as an officer sees a citizen's at the
counter), and in full once B has; and a citizen makes at most `OFFERS_PER_DAY` offers in any 24
hours, those declined, revoked or expired since included. Nor may it tell wholesale which
numbers have a vault: a citizen looks up at most `LOOKUPS_PER_DAY` numbers a day, those
refused (no vault, or one already delegated to) included.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from sqlalchemy import or_
from sqlmodel import Session, col, select

from vault import audit, db
from vault.accounts import acting, citizens, logins, recovery
from vault.accounts.acting import Opened
from vault.accounts.models import ActingSession, ActorKind, Citizen, EndReason, Scope
from vault.assist import sessions
from vault.assist.models import Delegation, DelegationEnder, DelegationKind, DelegationStatus
from vault.keys import Keyring
from vault.kit import days, text
from vault.kit.errors import Conflict, Forbidden, InvalidInput, NotFound, TooManyAttempts
from vault.notices import texts

_LIVE = (DelegationStatus.PENDING, DelegationStatus.ACTIVE)
OFFERS_PER_DAY = 10
LOOKUPS_PER_DAY = 2 * OFFERS_PER_DAY
_DAY = timedelta(days=1)
_LOOKUPS = logins.ThrottlePolicy(account_failures=LOOKUPS_PER_DAY, window=_DAY, block=_DAY)


@dataclass(frozen=True)
class DelegationView:
    delegation: Delegation
    # "given" (the caller is the citizen who delegated) or "received" (the caller is the delegate).
    direction: Literal["given", "received"]
    status: DelegationStatus
    citizen_name: str
    delegate_name: str

    @property
    def scopes(self) -> list[Scope]:
        return sorted(acting.scopes_of_text(self.delegation.scopes))


def one_year_after(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def ends_at(last_day: date) -> datetime:
    """The moment a delegation whose last day is `last_day` ends: that day's end in Vietnam."""
    return datetime.combine(last_day + timedelta(days=1), time(), days.VIETNAM).astimezone(UTC)


def status_of(row: Delegation, now: datetime | None = None) -> DelegationStatus:
    if row.status in _LIVE and db.aware(row.ends_at) <= (now or db.utc_now()):
        return DelegationStatus.EXPIRED
    return row.status


def offer(
    session: Session,
    keyring: Keyring,
    citizen: Citizen,
    *,
    national_id_number: str,
    scopes: Iterable[str],
    expires_on: date,
) -> DelegationView:
    """A's offer to B; nothing is allowed until B accepts. B is told."""
    wanted = acting.checked_scopes(scopes)
    today = days.today()
    if not today <= expires_on <= one_year_after(today):
        raise InvalidInput(
            "A delegation lasts until a day from today to one year from today.",
            field="expires_on",
        )
    _within_daily_offers(session, citizen)
    delegate = citizens.by_national_id(session, keyring, national_id_number)
    if delegate is None:
        raise NotFound("No vault belongs to this personal identification number.")
    if delegate.id == citizen.id:
        raise InvalidInput(
            "You cannot delegate to yourself.", field="national_id", reason="self-delegation"
        )
    for row in session.exec(
        select(Delegation).where(
            Delegation.citizen_id == citizen.id,
            Delegation.delegate_id == delegate.id,
            col(Delegation.status).in_(_LIVE),
        )
    ):
        if status_of(row) in _LIVE:
            raise Conflict(
                "This person already holds a delegation from you, or has one to answer; "
                "revoke it first to give another."
            )
    row = Delegation(
        citizen_id=citizen.id,
        delegate_id=delegate.id,
        kind=DelegationKind.PERSONAL,
        scopes=acting.encode_scopes(wanted),
        status=DelegationStatus.PENDING,
        expires_on=expires_on,
        ends_at=ends_at(expires_on),
    )
    session.add(row)
    session.flush()
    _record(session, row, "delegation.offer", "citizen", citizen.id, {"scopes": row.scopes})
    found = _view(session, keyring, row, citizen)
    citizens.announce(
        session,
        keyring,
        delegate.id,
        texts.delegation_offered(
            row.id, found.citizen_name, [s.value for s in found.scopes], expires_on
        ),
    )
    return found


def _within_daily_offers(session: Session, citizen: Citizen) -> None:
    """At most `OFFERS_PER_DAY` offers in the last 24 hours, whatever became of them. The
    citizen's row is locked first, so that two offers at once count each other."""
    session.exec(select(Citizen.id).where(Citizen.id == citizen.id).with_for_update()).first()
    since = db.utc_now() - _DAY
    made = session.exec(
        select(Delegation.created_at)
        .where(
            Delegation.citizen_id == citizen.id,
            Delegation.kind == DelegationKind.PERSONAL,
            col(Delegation.created_at) > since,
        )
        .order_by(col(Delegation.created_at))
    ).all()
    if len(made) >= OFFERS_PER_DAY:
        # Until the oldest that counts is a day old.
        wait = db.aware(made[-OFFERS_PER_DAY]) + _DAY - db.utc_now()
        raise TooManyAttempts(
            f"At most {OFFERS_PER_DAY} delegations can be offered in 24 hours; wait.",
            retry_after=max(1, int(wait.total_seconds()) + 1),
            reason="delegation-offers",
        )


def count_look_up(session: Session, citizen_id: uuid.UUID) -> None:
    """One look-up of someone's number for an offer, which the caller commits before the offer
    is tried: a refused offer rolls its request back, and the refusal is what tells whether the
    number has a vault."""
    logins.spend(
        session,
        budget="lookup",
        of=str(citizen_id),
        policy=_LOOKUPS,
        refusal=f"At most {LOOKUPS_PER_DAY} numbers can be looked up in 24 hours; wait.",
    )


def create_active(
    session: Session,
    *,
    citizen_id: uuid.UUID,
    delegate_id: uuid.UUID,
    last_day: date,
    kind: DelegationKind,
) -> Delegation:
    """A delegation that needs no acceptance: a guardian's, with every scope."""
    now = db.utc_now()
    row = Delegation(
        citizen_id=citizen_id,
        delegate_id=delegate_id,
        kind=kind,
        scopes=acting.encode_scopes(Scope),
        status=DelegationStatus.ACTIVE,
        expires_on=last_day,
        ends_at=ends_at(last_day),
        accepted_at=now,
    )
    session.add(row)
    session.flush()
    return row


def list_for(session: Session, keyring: Keyring, citizen: Citizen) -> list[DelegationView]:
    """Given by the citizen and given to them, newest first."""
    rows = session.exec(
        select(Delegation)
        .where(
            or_(col(Delegation.citizen_id) == citizen.id, col(Delegation.delegate_id) == citizen.id)
        )
        .order_by(col(Delegation.created_at).desc())
    ).all()
    return [_view(session, keyring, row, citizen) for row in rows]


def get(session: Session, citizen: Citizen, delegation_id: uuid.UUID) -> Delegation:
    """One the citizen gave or was given; anyone else's is not found."""
    row = session.get(Delegation, delegation_id)
    if row is None or citizen.id not in (row.citizen_id, row.delegate_id):
        raise NotFound("No such delegation.")
    return row


def view(session: Session, keyring: Keyring, citizen: Citizen, row: Delegation) -> DelegationView:
    return _view(session, keyring, row, citizen)


def _view(session: Session, keyring: Keyring, row: Delegation, caller: Citizen) -> DelegationView:
    given = row.citizen_id == caller.id
    delegate_name = _name(session, keyring, row.delegate_id)
    if given and row.accepted_at is None:
        # Not accepted (yet, or ever): the number typed tells no name.
        delegate_name = text.mask_name(delegate_name)
    return DelegationView(
        delegation=row,
        direction="given" if given else "received",
        status=status_of(row),
        citizen_name=_name(session, keyring, row.citizen_id),
        delegate_name=delegate_name,
    )


def _name(session: Session, keyring: Keyring, citizen_id: uuid.UUID) -> str:
    found = session.get(Citizen, citizen_id)
    return citizens.profile(session, keyring, found).full_name if found else ""


def _received(session: Session, delegate: Citizen, delegation_id: uuid.UUID) -> Delegation:
    row = get(session, delegate, delegation_id)
    if row.delegate_id != delegate.id:
        raise Forbidden("Only the person it was given to can do this.")
    return row


def accept(
    session: Session, keyring: Keyring, delegate: Citizen, delegation_id: uuid.UUID
) -> Delegation:
    row = _pending(_received(session, delegate, delegation_id))
    row.status = DelegationStatus.ACTIVE
    row.accepted_at = db.utc_now()
    session.add(row)
    session.flush()
    _record(session, row, "delegation.accept", "delegate", delegate.id, {})
    name = citizens.profile(session, keyring, delegate).full_name
    citizens.announce(
        session, keyring, row.citizen_id, texts.delegation_accepted(row.id, name, row.expires_on)
    )
    return row


def decline(session: Session, delegate: Citizen, delegation_id: uuid.UUID) -> Delegation:
    row = _pending(_received(session, delegate, delegation_id))
    _finish(session, row, DelegationStatus.DECLINED, DelegationEnder.DELEGATE)
    _record(session, row, "delegation.decline", "delegate", delegate.id, {})
    return row


def _pending(row: Delegation) -> Delegation:
    current = status_of(row)
    if current != DelegationStatus.PENDING:
        raise Conflict(f"This delegation is {current.value}, not waiting for an answer.")
    return row


def end(
    session: Session, keyring: Keyring, caller: Citizen, delegation_id: uuid.UUID
) -> Delegation:
    """Revoked by the citizen who gave it, given up by the delegate (one still waiting for an
    answer is declined): at once, with every live session it opened. A child cannot revoke a
    parent's hold on their vault; it ends on their 18th birthday."""
    row = get(session, caller, delegation_id)
    current = status_of(row)
    if current not in _LIVE:
        raise Conflict(f"This delegation is already {current.value}.")
    by_delegate = row.delegate_id == caller.id
    if not by_delegate and row.kind == DelegationKind.GUARDIAN:
        raise Conflict("A parent's care of a child's vault ends on the child's 18th birthday.")
    if by_delegate and current == DelegationStatus.PENDING:
        return decline(session, caller, delegation_id)
    ender = DelegationEnder.DELEGATE if by_delegate else DelegationEnder.CITIZEN
    _finish(session, row, DelegationStatus.REVOKED, ender)
    action = "delegation.give_up" if by_delegate else "delegation.revoke"
    _record(session, row, action, "delegate" if by_delegate else "citizen", caller.id, {})
    end_sessions(session, keyring, row)
    return row


def after_reset(session: Session, keyring: Keyring, reset: recovery.Reset) -> int:
    """A password reset at the counter ends the delegations the citizen gave (a child's vault
    stays with its guardians): the old password may have been an intruder's, who could have
    given themselves a way in that outlives it. The citizen offers them again if they were
    theirs. A reset with one of the citizen's printed codes leaves them. The number ended."""
    if not reset.at_counter:
        return 0
    citizen = reset.citizen
    rows = session.exec(
        select(Delegation).where(
            Delegation.citizen_id == citizen.id,
            Delegation.kind == DelegationKind.PERSONAL,
            col(Delegation.status).in_(_LIVE),
        )
    ).all()
    ended = [row for row in rows if status_of(row) in _LIVE]
    for row in ended:
        _finish(session, row, DelegationStatus.REVOKED, DelegationEnder.CITIZEN)
        _record(session, row, "delegation.revoke", "citizen", citizen.id, {"reason": "reset"})
        end_sessions(session, keyring, row)
    return len(ended)


def end_sessions(session: Session, keyring: Keyring, row: Delegation) -> int:
    """Every live session opened from this delegation ends now; the citizen is told what was
    done in each. The next request with any of their tokens is refused."""
    live = session.exec(
        select(ActingSession).where(
            ActingSession.origin_id == row.id,
            col(ActingSession.ended_at).is_(None),
            col(ActingSession.expires_at) > db.utc_now(),
        )
    ).all()
    for found in live:
        sessions.end(session, keyring, found, EndReason.REVOKED)
    return len(live)


def _finish(
    session: Session, row: Delegation, status: DelegationStatus, by: DelegationEnder
) -> None:
    row.status = status
    row.ended_at = db.utc_now()
    row.ended_by = by
    session.add(row)
    session.flush()


def open_session(
    session: Session,
    keyring: Keyring,
    delegate: Citizen,
    delegation_id: uuid.UUID,
    *,
    scopes: Iterable[str] | None = None,
    minutes: int = acting.DEFAULT_MINUTES,
) -> Opened:
    """The delegate's acting token on the citizen's vault: the delegation's scopes or fewer,
    for at most an hour and never past the delegation's end; announced to the citizen, and
    closed by the queue at its end like an officer's."""
    row = _received(session, delegate, delegation_id)
    current = status_of(row)
    if current != DelegationStatus.ACTIVE:
        raise Conflict(f"This delegation is {current.value}; only an accepted one opens.")
    allowed = acting.scopes_of_text(row.scopes)
    wanted = allowed if scopes is None else acting.checked_scopes(scopes)
    if not wanted <= allowed:
        extra = ", ".join(sorted(s.value for s in wanted - allowed))
        raise InvalidInput(f"This delegation does not give {extra}.", field="scopes")
    acting.checked_minutes(minutes)
    until = min(db.utc_now() + timedelta(minutes=minutes), db.aware(row.ends_at))
    opened = acting.open_session(
        session,
        citizen_id=row.citizen_id,
        kind=ActorKind.DELEGATE,
        origin_id=row.id,
        scopes=wanted,
        expires_at=until,
        delegate_id=delegate.id,
    )
    details = {
        "session": str(opened.session.id),
        "scopes": opened.session.scopes,
        "minutes": minutes,
    }
    _record(session, row, "assist.session_start", "delegate", delegate.id, details)
    sessions.started(session, keyring, opened.session)
    return opened


def _record(
    session: Session,
    row: Delegation,
    action: str,
    actor_type: str,
    actor_id: uuid.UUID,
    details: dict[str, object],
) -> None:
    """In the chain of the citizen who delegated: it is their vault that is opened."""
    audit.append(
        session,
        audit.Event(
            action,
            subject=row.citizen_id,
            actor_type=actor_type,
            actor_id=str(actor_id),
            details={"delegation": str(row.id), **details},
        ),
    )
