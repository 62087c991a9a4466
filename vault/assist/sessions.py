"""Acting sessions as the citizen sees them: who acted, allowed to do what, and what they did;
ending one, and telling the citizen when it ends, however it ends."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from vault import audit, db, queue
from vault.accounts import acting, citizens
from vault.accounts.acting import Acting
from vault.accounts.models import ActingSession, ActorKind, Citizen, EndReason, Officer
from vault.accounts.officers import OfficerSession
from vault.agencies.models import Agency
from vault.audit.models import AuditEvent
from vault.catalog import document_types
from vault.keys import Keyring
from vault.kit import days
from vault.kit.errors import NotFound
from vault.notices import texts

HISTORY_LIMIT = 50
_VERBS = {
    "document.upload": "đã tải lên {paper}",
    "document.version": "đã tải lên bản mới của {paper}",
    "document.delete": "đã xoá {paper}",
    "document.reading.accept": "đã xác nhận thông tin kho đọc được từ {paper}",
    "document.read": "đã xem {paper}",
    "document.certify": "đã chứng thực {paper}",
    "grant.create": "đã chia sẻ giấy tờ với {agency}",
    "grant.revoke": "đã thu hồi một lượt chia sẻ với {agency}",
    "dossier.draft": "đã lập hồ sơ {procedure}",
    "dossier.submitted": "đã nộp hồ sơ {procedure}",
    "dossier.withdrawn": "đã rút hồ sơ {procedure}",
}


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    name: str
    username: str | None = None
    agency: Agency | None = None
    delegate_id: uuid.UUID | None = None

    @property
    def label(self) -> str:
        """`Cán bộ Trần Văn B, UBND phường Hải Châu` or `Nguyễn Văn C (người được uỷ quyền)`."""
        if self.kind == ActorKind.OFFICER:
            where = f", {self.agency.name}" if self.agency else ""
            return f"Cán bộ {self.name}{where}"
        return f"{self.name} (người được uỷ quyền)"

    def did(self, verb: str) -> str:
        """`Cán bộ Trần Văn B, UBND phường Hải Châu, đã tải lên …`."""
        return f"{self.label}, {verb}" if self.kind == ActorKind.OFFICER else f"{self.label} {verb}"


@dataclass(frozen=True)
class Action:
    time: datetime
    action: str
    outcome: audit.Outcome
    document_id: uuid.UUID | None
    grant_id: uuid.UUID | None
    doc_type: str | None
    text: str


@dataclass(frozen=True)
class Record:
    session: ActingSession
    actor: Actor
    actions: list[Action]

    @property
    def live(self) -> bool:
        return acting.is_live(self.session)

    @property
    def ended_at(self) -> datetime | None:
        """When it ended; a session past its time that the queue has not closed yet ended at
        its time all the same."""
        row = self.session
        return row.ended_at or (None if self.live else row.expires_at)

    @property
    def end_reason(self) -> EndReason | None:
        row = self.session
        return row.end_reason or (None if self.live else EndReason.EXPIRED)


def actor_of(session: Session, keyring: Keyring, row: ActingSession) -> Actor:
    if row.kind == ActorKind.OFFICER:
        officer = session.get(Officer, row.officer_id) if row.officer_id else None
        agency = session.get(Agency, officer.agency_id) if officer else None
        return Actor(
            ActorKind.OFFICER,
            officer.full_name if officer else "",
            username=officer.username if officer else None,
            agency=agency,
        )
    delegate = session.get(Citizen, row.delegate_id) if row.delegate_id else None
    name = citizens.profile(session, keyring, delegate).full_name if delegate else ""
    return Actor(ActorKind.DELEGATE, name, delegate_id=row.delegate_id)


def history(session: Session, keyring: Keyring, citizen: Citizen) -> list[Record]:
    """Every session on the citizen's vault, newest first, each with what was done in it (from
    the citizen's audit chain, so the operator cannot leave an action out unnoticed). It only
    reads: a lapsed session is shown as ended, and its queued job records and tells it."""
    rows = session.exec(
        select(ActingSession)
        .where(ActingSession.citizen_id == citizen.id)
        .order_by(col(ActingSession.started_at).desc())
        .limit(HISTORY_LIMIT)
    ).all()
    if not rows:
        return []
    events = _events_since(session, citizen.id, min(db.aware(row.started_at) for row in rows))
    records = []
    for row in rows:
        actor = actor_of(session, keyring, row)
        actions = [_action(session, actor, e) for e in events.get(str(row.id), [])]
        records.append(Record(row, actor, actions))
    return records


def _events_since(
    session: Session, citizen_id: uuid.UUID, since: datetime
) -> dict[str, list[AuditEvent]]:
    found: dict[str, list[AuditEvent]] = {}
    for event in session.exec(
        select(AuditEvent)
        .where(
            AuditEvent.chain == str(citizen_id),
            col(AuditEvent.occurred_at) >= since,
            col(AuditEvent.details).contains('"acting_session":'),
        )
        .order_by(col(AuditEvent.seq))
    ):
        key = json.loads(event.details).get("acting_session")
        if key:
            found.setdefault(key, []).append(event)
    return found


def _action(session: Session, actor: Actor, event: AuditEvent) -> Action:
    details = json.loads(event.details)
    doc_type = details.get("doc_type")
    paper = _type_name(doc_type) if doc_type else "giấy tờ"
    agency = session.get(Agency, event.agency_id) if event.agency_id else None
    verb = _VERBS.get(event.action, "đã thực hiện {action}").format(
        paper=paper,
        agency=agency.name if agency else "cơ quan",
        procedure=details.get("procedure", ""),
        action=event.action,
    )
    local = db.aware(event.occurred_at).astimezone(days.VIETNAM)
    refused = "" if event.outcome == audit.Outcome.SUCCESS else " (bị từ chối)"
    return Action(
        time=db.aware(event.occurred_at),
        action=event.action,
        outcome=event.outcome,
        document_id=event.document_id,
        grant_id=event.grant_id,
        doc_type=doc_type,
        text=actor.did(f"{verb} lúc {local:%H:%M} ngày {local:%d/%m/%Y}{refused}"),
    )


def _type_name(code: str) -> str:
    try:
        return document_types.document_type(code).name_vi
    except NotFound:
        return code


# Who may be calling about a session or a request: the citizen or a delegate with their own
# token, an officer with theirs, or the holder of an acting token.
Caller = Citizen | OfficerSession | Acting


def end_by(session: Session, keyring: Keyring, caller: Caller, session_id: uuid.UUID) -> None:
    """Ends it at once, for the citizen, the officer or delegate who holds it, or its own
    token; to anyone else it does not exist."""
    if isinstance(caller, Acting):
        if caller.session.id != session_id:
            raise NotFound("No such acting session.")
        end(session, keyring, caller.session, EndReason.ACTOR)
        return
    row = session.get(ActingSession, session_id)
    if isinstance(caller, OfficerSession):
        holds = row is not None and row.officer_id == caller.officer.id
    else:
        holds = row is not None and caller.id in (row.citizen_id, row.delegate_id)
    if row is None or not holds:
        raise NotFound("No such acting session.")
    by_citizen = isinstance(caller, Citizen) and caller.id == row.citizen_id
    end(session, keyring, row, EndReason.CITIZEN if by_citizen else EndReason.ACTOR)


def end(session: Session, keyring: Keyring, row: ActingSession, reason: EndReason) -> None:
    """Ends it now; the next request with its token is refused. The citizen is told what was
    done in it, once, however it ended."""
    was_live = row.ended_at is None
    acting.end(session, row, reason)
    if was_live:
        actor = actor_of(session, keyring, row)
        if row.end_reason == EndReason.CITIZEN:
            who: tuple[str, str | None] = ("citizen", str(row.citizen_id))
        elif row.end_reason == EndReason.ACTOR and actor.kind == ActorKind.OFFICER:
            who = ("officer", actor.username)
        elif row.end_reason == EndReason.ACTOR:
            who = ("delegate", str(actor.delegate_id))
        else:
            who = ("system", None)
        audit.append(
            session,
            audit.Event(
                "assist.session_end",
                subject=row.citizen_id,
                actor_type=who[0],
                actor_id=who[1],
                agency_id=actor.agency.id if actor.agency else None,
                details={"session": str(row.id), "reason": row.end_reason or ""},
            ),
        )
    _tell(session, keyring, row)


def _tell(session: Session, keyring: Keyring, row: ActingSession) -> None:
    actor = actor_of(session, keyring, row)
    events = _events_since(session, row.citizen_id, db.aware(row.started_at)).get(str(row.id), [])
    done = [
        _action(session, actor, event).text.removeprefix(actor.did(""))
        for event in events
        if event.outcome == audit.Outcome.SUCCESS
    ]
    citizens.announce(
        session, keyring, row.citizen_id, texts.assist_ended(row.id, actor.label, done)
    )


def close_one(session: Session, keyring: Keyring, session_id: uuid.UUID) -> None:
    """The queued end of one session, at its time: recorded as expired and told, unless it is
    gone (its account erased). One ended before keeps its end; the summary, sent then, is not
    sent twice (a notice's dedup key), and one ended in bulk (a reset) gets it now."""
    row = session.get(ActingSession, session_id)
    if row is None or acting.is_live(row):
        return
    end(session, keyring, row, EndReason.EXPIRED)


def started(session: Session, keyring: Keyring, row: ActingSession) -> None:
    """Whoever opened it (an officer, a delegate): the citizen is told now, and the queue
    closes it at its end and tells them what was done."""
    actor = actor_of(session, keyring, row)
    scopes = sorted(scope.value for scope in acting.scopes_of_text(row.scopes))
    notice = texts.assist_started(row.id, actor.label, scopes, db.aware(row.expires_at))
    citizens.announce(session, keyring, row.citizen_id, notice)
    queue.enqueue(
        session, queue.Task.ASSIST_CLOSE, {"session": str(row.id)}, at=db.aware(row.expires_at)
    )
