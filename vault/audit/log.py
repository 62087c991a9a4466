"""The audit log: append-only, one hash chain per citizen plus a `system` chain.

Each event carries the hash of the one before it in its chain, so a changed, removed or
inserted row breaks every hash after it and `vault audit verify` names the first broken link.
Appends to a chain are serialised (an advisory lock on PostgreSQL; on SQLite every writing
transaction starts with BEGIN IMMEDIATE), so concurrent events never fork a chain. Events go
in the transaction of the change they record; refusals, which roll back, in one of their own.
No paper content, token or secret ever goes into an event.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, bindparam, insert, text
from sqlmodel import Session, col, select

from vault import db
from vault.audit.models import AuditEvent, Outcome

SYSTEM = "system"
GENESIS = "0" * 64
DOMAIN = b"dvlt-audit-v1\x00"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Event:
    action: str
    subject: uuid.UUID | None  # the citizen whose chain this joins; None for `system`
    actor_type: str
    actor_id: str | None = None
    outcome: Outcome = Outcome.SUCCESS
    reason: str | None = None
    document_id: uuid.UUID | None = None
    grant_id: uuid.UUID | None = None
    agency_id: uuid.UUID | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def chain(self) -> str:
        return str(self.subject) if self.subject else SYSTEM


@dataclass(frozen=True)
class Actor:
    """Someone acting for a citizen (an officer at the counter, a delegate): what the citizen
    would have done themselves in this unit of work is recorded as theirs, in the citizen's
    chain, with the acting session that allowed it."""

    citizen_id: uuid.UUID
    actor_type: str
    actor_id: str
    agency_id: uuid.UUID | None
    session_id: uuid.UUID


_ACTING = "vault.audit.acting"


def act_for(session: Session, actor: Actor) -> None:
    """From now on in this unit of work, the citizen's own events name `actor` as well."""
    session.info[_ACTING] = actor


def acting(session: Session) -> Actor | None:
    # Typed through a variable: mypy sees `info` as Any or not depending on its module order.
    found: Actor | None = session.info.get(_ACTING)
    return found


def _attributed(session: Session, event: Event) -> Event:
    actor = acting(session)
    if actor is None or event.subject != actor.citizen_id or event.actor_type != "citizen":
        return event
    return replace(
        event,
        actor_type=actor.actor_type,
        actor_id=actor.actor_id,
        agency_id=event.agency_id or actor.agency_id,
        details=event.details
        | {"acting_session": str(actor.session_id)}
        | _actor_agency(event, actor),
    )


def _actor_agency(event: Event, actor: Actor) -> dict[str, str]:
    """The officer's agency, when the event's own agency is another (a share made for the
    receiving agency): both stay in the record."""
    if actor.agency_id is None or event.agency_id in (None, actor.agency_id):
        return {}
    return {"actor_agency": str(actor.agency_id)}


def append(session: Session, event: Event) -> AuditEvent:
    return append_many(session, [event])[0]


def append_many(session: Session, events: Sequence[Event]) -> list[AuditEvent]:
    """Events in the order given; each chain is locked once, in name order."""
    rows = [AuditEvent(**values) for values in _linked(session, events, pending=True)]
    session.add_all(rows)
    session.flush()
    return rows


def insert_many(session: Session, events: Sequence[Event]) -> None:
    """As append_many, in one INSERT statement of plain values, without the ORM's objects and
    bookkeeping, for the agency's download (vault.sharing.checked), where they were a tenth of
    the CPU of a fetch. The ORM does not see these rows: the caller counts them on /metrics
    once they have committed (vault.audit.metrics.count_written)."""
    rows = _linked(session, events, pending=False)
    if rows:
        session.connection().execute(insert(AuditEvent), rows)


def _linked(session: Session, events: Sequence[Event], *, pending: bool) -> list[dict[str, Any]]:
    """The events' column values, each linked to the head of its chain, the chains locked.
    `pending`: the session may hold events not yet flushed, so the heads are read through it
    (which flushes them first); otherwise straight from its connection."""
    events = [_attributed(session, event) for event in events]
    chains = sorted({event.chain for event in events})
    heads: dict[str, tuple[int, str]] = {}
    for chain in chains:
        _lock(session, chain)
        if pending:
            head = session.exec(_HEAD, params={"chain": chain}).first()
        else:
            head = session.connection().execute(_HEAD, {"chain": chain}).first()
        heads[chain] = (head[0], head[1]) if head else (0, GENESIS)
    rows = []
    for event in events:
        seq, previous = heads[event.chain]
        row = _values(event, seq + 1, db.utc_now(), previous)
        row["entry_hash"] = _digest(previous, _body(row))
        heads[event.chain] = (seq + 1, row["entry_hash"])
        rows.append(row)
    return rows


_HEAD = (
    select(AuditEvent.seq, AuditEvent.entry_hash)
    .where(col(AuditEvent.chain) == bindparam("chain"))
    .order_by(col(AuditEvent.seq).desc())
    .limit(1)
)


def _values(event: Event, seq: int, occurred_at: datetime, previous: str) -> dict[str, Any]:
    """The row's columns but its hash (and what the database numbers)."""
    return {
        "chain": event.chain,
        "seq": seq,
        "occurred_at": occurred_at,
        "actor_type": event.actor_type,
        "actor_id": event.actor_id,
        "action": event.action,
        "outcome": event.outcome,
        "reason": event.reason,
        "document_id": event.document_id,
        "grant_id": event.grant_id,
        "agency_id": event.agency_id,
        "details": _canonical(event.details),
        "prev_hash": previous,
    }


@dataclass(frozen=True)
class Template:
    """An event the database writes itself, in the statement that takes its chain's next link
    (vault.sharing.checked): the canonical text entry_hash covers, and the `details` column,
    each cut where the statement puts in, as JSON, what only it knows."""

    body: list[str]
    details: list[str]


def template(event: Event, occurred_at: datetime, holes: Sequence[str]) -> Template:
    """`holes`, in the order the canonical text has them: `chain`, `grant_id`, `seq`, and
    `details.<key>` for a key of the details; the event's own values there are ignored."""
    marks = {hole: f"\x00{secrets.token_hex(8)}" for hole in holes}
    body = _body(_values(event, 0, occurred_at, GENESIS))
    for hole, mark in marks.items():
        kind, _, key = hole.partition(".")
        if kind == "details":
            body["details"][key] = mark
        else:
            body[hole] = mark
    details = [hole for hole in holes if hole.startswith("details.")]
    return Template(
        body=_cut(_canonical(body), [marks[hole] for hole in holes]),
        details=_cut(_canonical(body["details"]), [marks[hole] for hole in details]),
    )


def _cut(text: str, marks: list[str]) -> list[str]:
    pieces = []
    for mark in marks:
        head, found, text = text.partition(_canonical(mark))
        if not found:
            raise ValueError("the holes are not in the order of the canonical text")
        pieces.append(head)
    return [*pieces, text]


def append_apart(session: Session, event: Event) -> None:
    """For an event a reading request causes (a paper read by someone acting for its owner):
    written now, in a transaction of its own, so that a request that only reads never has to
    take the database's write lock halfway through."""
    engine = session.get_bind()
    event = _attributed(session, event)
    with db.unit_of_work(engine) as own:  # type: ignore[arg-type]
        append(own, event)


def append_after_refusal(session: Session, event: Event) -> None:
    """For an attempt that is refused: the refusal rolls the request back, so the event is
    written in a transaction of its own once it has."""
    engine = session.get_bind()
    event = _attributed(session, event)

    def write() -> None:
        with db.unit_of_work(engine) as own:  # type: ignore[arg-type]
            append(own, event)

    db.after_rollback(session, write)


def _lock(session: Session, chain: str) -> None:
    if session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(chain.encode()).digest()[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _micros(moment: datetime) -> int:
    """Exact integer microseconds since the epoch."""
    return (db.aware(moment) - _EPOCH) // timedelta(microseconds=1)


def entry_hash(row: AuditEvent) -> str:
    return _digest(row.prev_hash, _body(_columns(row)))


# What entry_hash covers, besides the previous hash.
_HASHED = (
    "chain",
    "seq",
    "occurred_at",
    "actor_type",
    "actor_id",
    "action",
    "outcome",
    "reason",
    "document_id",
    "grant_id",
    "agency_id",
    "details",
)


def _columns(row: AuditEvent) -> dict[str, Any]:
    return {name: getattr(row, name) for name in _HASHED}


def _body(row: Mapping[str, Any]) -> dict[str, Any]:
    """The hashed fields of a row's column values, in the form entry_hash hashes them."""
    return {
        "chain": row["chain"],
        "seq": row["seq"],
        "occurred_at": _micros(row["occurred_at"]),
        "actor_type": row["actor_type"],
        "actor_id": row["actor_id"],
        "action": row["action"],
        "outcome": row["outcome"],
        "reason": row["reason"],
        "document_id": _text(row["document_id"]),
        "grant_id": _text(row["grant_id"]),
        "agency_id": _text(row["agency_id"]),
        "details": json.loads(row["details"]),
    }


def _text(value: uuid.UUID | None) -> str | None:
    return str(value) if value else None


def _canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _digest(prev_hash: str, body: dict[str, Any]) -> str:
    return hashlib.sha256(DOMAIN + prev_hash.encode() + _canonical(body).encode()).hexdigest()


# What a published event (a proof, an export) holds besides the hashed fields.
LINKS = ("prev_hash", "hash")


def published(row: AuditEvent) -> dict[str, Any]:
    """An event as a proof or an export gives it: every field entry_hash covers, in the form it
    hashes them (occurred_at in integer microseconds since the epoch, UTC; details as an
    object), plus `prev_hash` and its own `hash`, both hex."""
    return _body(_columns(row)) | {"prev_hash": row.prev_hash, "hash": row.entry_hash}


def hash_of(event: dict[str, Any]) -> str:
    """entry_hash recomputed from a published event: SHA-256 of "dvlt-audit-v1\\0", the
    previous hash (its 64 hex characters) and the canonical JSON of every other field."""
    body = {key: value for key, value in event.items() if key not in LINKS}
    return _digest(str(event["prev_hash"]), body)


@dataclass(frozen=True)
class Break:
    chain: str
    seq: int
    problem: str


@dataclass
class Verification:
    chains: int = 0
    events: int = 0
    breaks: list[Break] = field(default_factory=list)


def verify(engine: Engine) -> Verification:
    """Check every chain from its first link; report the first broken link of each."""
    result = Verification()
    chain, expected_seq, previous, broken = None, 1, GENESIS, False
    for row in _all_events(engine):
        if row.chain != chain:
            chain, expected_seq, previous, broken = row.chain, 1, GENESIS, False
            result.chains += 1
        result.events += 1
        if broken:
            continue
        problem = None
        if row.seq != expected_seq:
            problem = f"expected link {expected_seq}, found {row.seq} (a link is missing)"
        elif row.prev_hash != previous:
            problem = "does not follow the link before it"
        elif entry_hash(row) != row.entry_hash:
            problem = "was changed after it was written"
        if problem:
            result.breaks.append(Break(row.chain, row.seq, problem))
            broken = True
        expected_seq, previous = row.seq + 1, row.entry_hash
    return result


def _all_events(engine: Engine) -> Iterator[AuditEvent]:
    with db.unit_of_work(engine, writes=False) as session:
        query = select(AuditEvent).order_by(col(AuditEvent.chain), col(AuditEvent.seq))
        yield from session.exec(query.execution_options(yield_per=1000))


def chain_of(session: Session, subject: uuid.UUID, actions: tuple[str, ...]) -> list[AuditEvent]:
    """A citizen's events of these kinds, newest first."""
    return list(
        session.exec(
            select(AuditEvent)
            .where(AuditEvent.chain == str(subject), col(AuditEvent.action).in_(actions))
            .order_by(col(AuditEvent.seq).desc())
        ).all()
    )
