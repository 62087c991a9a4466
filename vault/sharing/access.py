"""What an agency reaches through a share token: exactly the papers of a live grant made for it.

Every attempt is audited in the citizen's chain (or the system chain when the token names no
grant), refusals included. A download counts one use with a single conditional UPDATE, so two
concurrent downloads of a one-use grant cannot both succeed, and a revocation is seen by the
very next request.
"""

from __future__ import annotations

import uuid
from collections.abc import Generator, Iterator, Sequence
from concurrent import futures
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import or_, text, update
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import Select

from vault import audit, crypto, db, documents
from vault.accounts import citizens
from vault.accounts.models import Citizen
from vault.agencies.models import Agency
from vault.blobs.backend import Backend
from vault.catalog.document_types import Trust
from vault.db import group_commit
from vault.documents.models import Document, DocumentVersion
from vault.kit import days, filenames
from vault.kit.errors import Forbidden, Gone, InvalidInput, NotFound
from vault.sharing import checked, grants, masking, masks, watermark
from vault.sharing.models import Grant, GrantDocument, GrantStatus

_GONE = {
    GrantStatus.REVOKED: "The citizen has revoked this share.",
    GrantStatus.EXPIRED: "This share has expired; ask the citizen for a new one.",
    GrantStatus.USED_UP: "This share has been used as many times as the citizen allowed.",
    GrantStatus.COMPLETED: "The dossier these papers were shared for is completed.",
}


@dataclass(frozen=True)
class Accessor:
    """Who is reaching: an agency, and the officer acting for it when a person is."""

    agency: Agency
    officer: str | None = None

    @property
    def actor(self) -> tuple[str, str]:
        return ("officer", self.officer) if self.officer else ("agency", str(self.agency.id))


PREVIEW_PAGES = 4


@dataclass(frozen=True)
class SharedPaper:
    id: uuid.UUID
    doc_type: str
    title: str | None
    number: str | None
    content_type: str
    size: int
    pages: int
    version: int
    issued_on: date | None
    expires_on: date | None
    trust: Trust
    # The citizen blacked out parts of it: the agency only receives the masked copy.
    masked: bool = False


@dataclass(frozen=True)
class SharedView:
    grant_id: uuid.UUID
    purpose: str
    expires_at: datetime
    max_uses: int | None
    uses: int
    citizen_name: str
    citizen_national_id: str
    papers: list[SharedPaper]


@dataclass(frozen=True)
class Delivery:
    """The paper as the agency receives it: streamed as stored, or a copy made for the agency
    (`stamped`: stamped, masked, or both)."""

    content: documents.Content | None = None
    stream: Generator[bytes] | None = None
    stamped: bytes | None = None
    stamped_type: str = ""
    filename: str = ""
    masked: bool = False


def _papers_of(grant: Grant) -> Select[Document, DocumentVersion, GrantDocument]:
    """The papers of a grant, each at the version that was shared, with its masks."""
    return (
        select(Document, DocumentVersion, GrantDocument)
        .join(GrantDocument, col(GrantDocument.document_id) == Document.id)
        .join(
            DocumentVersion,
            (col(DocumentVersion.document_id) == Document.id)
            & (col(DocumentVersion.version) == GrantDocument.version),
        )
        .where(GrantDocument.grant_id == grant.id)
    )


def open_share(
    session: Session, backend: Backend, *, who: Accessor, token: str, end_read: db.EndRead
) -> SharedView:
    """The share's papers, described; `end_read` is called before the opening is recorded."""
    grant = _live_grant(session, who, token, "share.open")
    rows = session.exec(_papers_of(grant)).all()
    papers = [
        _paper(documents.describe(session, backend, doc, row), masked=link.masks is not None)
        for doc, row, link in rows
    ]
    citizen = session.get(Citizen, grant.citizen_id)
    assert citizen is not None
    profile = citizens.profile(session, backend.keyring, citizen)
    _record(session, end_read, who, grant, "share.open", None, {"papers": len(papers)})
    return SharedView(
        grant_id=grant.id,
        purpose=grants.purpose_of(session, backend, grant),
        expires_at=db.aware(grant.expires_at),
        max_uses=grant.max_uses,
        uses=grant.uses,
        citizen_name=profile.full_name,
        citizen_national_id=citizens.national_id_of(session, backend.keyring, citizen),
        papers=papers,
    )


def fetch(
    session: Session,
    backend: Backend,
    *,
    who: Accessor,
    token: str,
    document_id: uuid.UUID,
    end_read: db.EndRead,
    stamp: bool = False,
    page: int | None = None,
) -> Delivery:
    """A paper streamed as stored takes one round trip (vault.sharing.checked) when the grant
    serves; a refusal, a stamped copy, a masked paper or a preview goes the long way."""
    if not stamp and page is None:
        delivery = fetch_checked(
            session,
            backend,
            agency_id=who.agency.id,
            actor=who.actor,
            token=token,
            document_id=document_id,
            end_read=end_read,
        )
        if delivery is not None:
            return delivery
    grant = _live_grant(session, who, token, checked.DOWNLOAD, document_id)
    return deliver(
        session,
        backend,
        who=who,
        grant=grant,
        document_id=document_id,
        end_read=end_read,
        stamp=stamp,
        page=page,
    )


def fetch_checked(
    session: Session,
    backend: Backend,
    *,
    agency_id: uuid.UUID,
    actor: tuple[str, str],
    token: str,
    document_id: uuid.UUID,
    end_read: db.EndRead,
) -> Delivery | None:
    """The paper streamed as stored, its use counted and audited in one round trip; None, with
    nothing written, when the grant does not serve it so: the caller then goes the long way
    (`fetch`), which names and audits the refusal."""
    end_read()
    asked = checked.Asked(token, agency_id, actor, document_id)
    (outcome,) = fetch_checked_all(session, backend, [asked])
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


def fetch_checked_all(
    session: Session, backend: Backend, asked: Sequence[checked.Asked]
) -> list[Delivery | None | Exception]:
    """As fetch_checked, for downloads gathered by the caller, each with its own outcome (an
    error among them fails no other); the session must have read nothing (a citizen's key
    no longer in memory is read through it, after the downloads have committed)."""
    contents: list[documents.Content | None | Exception] = []
    for outcome in checked.count_downloads(session.get_bind(), asked):  # type: ignore[arg-type]
        if outcome is None or isinstance(outcome, Exception):
            contents.append(outcome)
            continue
        try:
            contents.append(documents.content_of(session, backend, *outcome))
        except Exception as error:  # a citizen key unreadable: this download's alone
            session.rollback()
            contents.append(error)
    found = [content for content in contents if isinstance(content, documents.Content)]
    opened: Iterator[Delivery | Exception]
    if backend.store.remote and len(found) > 1:
        opened = iter(list(_OPENING.map(_opened, found)))
    else:
        opened = map(_opened, found)
    return [
        next(opened) if isinstance(content, documents.Content) else content for content in contents
    ]


# A store over the network is read for several downloads at once, as a thread per download did.
_OPENING = futures.ThreadPoolExecutor(8, thread_name_prefix="vault-open")


def _opened(content: documents.Content) -> Delivery | Exception:
    """The paper opened, its first chunk read and verified; or the store failing, or the paper
    damaged: its caller's to tell."""
    try:
        return _streamed(content)
    except Exception as error:
        return error


def deliver(
    session: Session,
    backend: Backend,
    *,
    who: Accessor,
    grant: Grant,
    document_id: uuid.UUID,
    end_read: db.EndRead,
    stamp: bool = False,
    page: int | None = None,
) -> Delivery:
    """A paper of a live grant of this agency's: one use, audited; `end_read` is called before
    the use is counted. `page`: one stamped page image for the counter's screen — part of
    opening the share, so audited as a preview and not counted, and only the first
    PREVIEW_PAGES pages."""
    if page is not None and not 1 <= page <= PREVIEW_PAGES:
        raise InvalidInput(
            f"Pages 1 to {PREVIEW_PAGES} are shown; download the stamped copy for the others.",
            field="page",
        )
    row = session.exec(_papers_of(grant).where(GrantDocument.document_id == document_id)).first()
    if row is None:
        refuse(session, who, grant, "share.download", "not_in_grant", document_id)
        raise NotFound("This paper is not in the share.")
    document, version, link = row
    content = documents.content_of(session, backend, document, version)
    # The store is read (and the first chunk verified) before the use is counted: the grant's
    # row stays locked only for the count and the audit event, and a damaged paper costs no use.
    stamped = stamp or page is not None
    hidden = masks.load(link.masks)
    if hidden:
        # Every route of a masked paper ends here: the agency never gets the stored bytes.
        delivery = _masked(session, backend, who, grant, content, hidden, stamped, page)
    elif stamped:
        delivery = _stamped(session, backend, who, grant, content, page)
    else:
        delivery = _streamed(content)
    action = checked.DOWNLOAD if page is None else "share.preview"
    details = checked.details(document.doc_type, version.version, stamped=stamped)
    if hidden:
        details["masked"] = True
    try:
        _record(session, end_read, who, grant, action, document_id, details, count=page is None)
    except BaseException:
        if delivery.stream is not None:
            delivery.stream.close()
        raise
    return delivery


def _streamed(content: documents.Content) -> Delivery:
    return Delivery(content=content, stream=content.chunks())


def _stamped(
    session: Session,
    backend: Backend,
    who: Accessor,
    grant: Grant,
    content: documents.Content,
    page: int | None,
) -> Delivery:
    if content.size > backend.limits.max_image_bytes:
        raise InvalidInput("This paper is too large to stamp; fetch it without ?watermark=1.")
    lines = watermark.lines(
        purpose=grants.purpose_of(session, backend, grant),
        agency=who.agency.name,
        day=days.today(),
    )
    data = b"".join(content.chunks())
    stamped, kind = backend.sandbox.run(watermark.stamp, data, content.content_type, lines, page)
    stem = content.filename.rsplit(".", 1)[0]
    name = filenames.for_download(f"{stem}-{who.agency.code}", kind)
    return Delivery(stamped=stamped, stamped_type=kind, filename=name)


def _masked(
    session: Session,
    backend: Backend,
    who: Accessor,
    grant: Grant,
    content: documents.Content,
    hidden: list[masks.Mask],
    stamped: bool,
    page: int | None,
) -> Delivery:
    if content.size > backend.limits.max_image_bytes:
        # Never the unmasked bytes instead: a masked paper is only ever served masked.
        raise InvalidInput(
            "This paper is too large for its masks to be applied; ask the citizen to share a "
            "smaller scan.",
            reason="too_large_to_mask",
        )
    lines = None
    if stamped:
        purpose = grants.purpose_of(session, backend, grant)
        lines = watermark.lines(purpose=purpose, agency=who.agency.name, day=days.today())
    data = b"".join(content.chunks())
    copy, kind = backend.sandbox.run(
        masking.apply,
        data,
        content.content_type,
        masks.by_page(hidden),
        lines,
        page,
        max_pixels=backend.limits.max_image_pixels,
        max_pages=masks.MAX_PAGES,
    )
    stem = content.filename.rsplit(".", 1)[0]
    name = filenames.for_download(f"{stem}-{who.agency.code}-masked", kind)
    return Delivery(stamped=copy, stamped_type=kind, filename=name, masked=True)


def record_unauthenticated(session: Session, method: str) -> None:
    """An agency route reached without valid agency credentials: kept in the system chain,
    without looking the share token up for a caller who has not identified itself."""
    audit.append_after_refusal(
        session,
        audit.Event(
            "agency.unauthenticated",
            subject=None,
            actor_type="anonymous",
            outcome=audit.Outcome.DENIED,
            reason="no_credentials",
            details={"method": method},
        ),
    )


def _live_grant(
    session: Session, who: Accessor, token: str, action: str, document_id: uuid.UUID | None = None
) -> Grant:
    grant = session.exec(select(Grant).where(Grant.token_hash == crypto.hash_token(token))).first()
    if grant is None:
        actor_type, actor_id = who.actor
        audit.append_after_refusal(
            session,
            audit.Event(
                action,
                subject=None,
                actor_type=actor_type,
                actor_id=actor_id,
                outcome=audit.Outcome.DENIED,
                reason="unknown_token",
                agency_id=who.agency.id,
                document_id=document_id,
            ),
        )
        raise NotFound("No share has this code.")
    if grant.agency_id != who.agency.id:
        refuse(session, who, grant, action, "wrong_agency", document_id)
        raise Forbidden("This share was made for another agency.")
    return live(session, who, grant, action, document_id)


def live(
    session: Session, who: Accessor, grant: Grant, action: str, document_id: uuid.UUID | None
) -> Grant:
    """The grant if it is still active; a refusal, audited, naming why it is over otherwise."""
    state = grants.status(grant)
    if state != GrantStatus.ACTIVE:
        refuse(session, who, grant, action, state, document_id)
        raise Gone(_GONE[state], reason=state)
    return grant


def _unusable(session: Session, grant_id: uuid.UUID, *, count: bool) -> GrantStatus | None:
    """Checks the grant is still live, and counts one use if `count`, with a single conditional
    UPDATE that locks its row: a revocation or an erasure committed since the request read the
    grant is seen here, for a preview or the share page as for a download. If the grant cannot
    serve (another request used it up, or it was revoked or ran out meanwhile), the state that
    says why."""
    counted = session.execute(
        update(Grant)
        .where(
            col(Grant.id) == grant_id,
            col(Grant.revoked_at).is_(None),
            col(Grant.expires_at) > db.utc_now(),
            or_(col(Grant.max_uses).is_(None), col(Grant.uses) < col(Grant.max_uses)),
        )
        .values(uses=col(Grant.uses) + (1 if count else 0))
        .execution_options(synchronize_session=False)
    )
    if counted.rowcount == 1:  # type: ignore[attr-defined]
        return None
    current = session.get(Grant, grant_id, populate_existing=True)
    if current is None:  # the citizen's account was erased meanwhile
        return GrantStatus.REVOKED
    state = grants.status(current)
    return state if state in _GONE else GrantStatus.USED_UP


def _paper(view: documents.DocumentView, *, masked: bool) -> SharedPaper:
    """A masked paper's number and title are withheld: they often repeat what the citizen
    blacked out (a passport's number, an old ID number), and the agency reads what was left
    visible on the masked copy itself."""
    return SharedPaper(
        id=view.id,
        doc_type=view.doc_type,
        title=None if masked else view.title,
        number=None if masked else view.number,
        content_type=view.content_type,
        size=view.size,
        pages=view.pages,
        version=view.version,
        issued_on=view.issued_on,
        expires_on=view.expires_on,
        trust=view.trust,
        masked=masked,
    )


def _event(
    who: Accessor,
    grant: Grant,
    action: str,
    outcome: audit.Outcome,
    document_id: uuid.UUID | None,
    reason: str | None = None,
    details: dict[str, object] | None = None,
) -> audit.Event:
    actor_type, actor_id = who.actor
    return audit.Event(
        action,
        subject=grant.citizen_id,
        actor_type=actor_type,
        actor_id=actor_id,
        outcome=outcome,
        reason=reason,
        document_id=document_id,
        grant_id=grant.id,
        agency_id=who.agency.id,
        details=details or {},
    )


@dataclass(frozen=True)
class _Access:
    who: Accessor
    grant: Grant
    action: str
    document_id: uuid.UUID | None
    details: dict[str, object]
    count: bool


def _record(
    session: Session,
    end_read: db.EndRead,
    who: Accessor,
    grant: Grant,
    action: str,
    document_id: uuid.UUID | None,
    details: dict[str, object],
    *,
    count: bool = False,
) -> None:
    """An allowed access, with the use it counts, committed before the paper leaves: in a
    short transaction of its own, shared with the other accesses arriving meanwhile (see
    vault.group_commit), so that the grant's row and the audit chain are not locked for the
    rest of the request, nor once per request. The request's own reading transaction ends
    first (`end_read`): a request waiting for its batch holds no connection."""
    engine = session.get_bind()
    end_read()
    access = _Access(who, grant, action, document_id, details, count)
    group_commit.for_engine(engine, _commit_accesses).submit(engine, access)  # type: ignore[arg-type]


def _commit_accesses(session: Session, accesses: Sequence[_Access]) -> list[Exception | None]:
    if session.get_bind().dialect.name == "postgresql":
        # A batch stuck behind one citizen's locks would stall every agency; it fails instead,
        # and its accesses are retried one by one.
        session.execute(text("SET LOCAL lock_timeout = '5s'"))
    outcomes: list[Exception | None] = [None] * len(accesses)
    events: list[audit.Event] = []
    # Grant rows are locked in id order, so that two batches cannot deadlock.
    for index in sorted(range(len(accesses)), key=lambda i: str(accesses[i].grant.id)):
        access = accesses[index]
        state = _unusable(session, access.grant.id, count=access.count)
        if state is not None:
            outcomes[index] = Gone(_GONE[state], reason=state)
    for access, outcome in zip(accesses, outcomes, strict=True):
        reason = outcome.reason if isinstance(outcome, Gone) else None
        events.append(
            _event(
                access.who,
                access.grant,
                access.action,
                audit.Outcome.DENIED if reason else audit.Outcome.SUCCESS,
                access.document_id,
                reason=reason,
                details=None if reason else access.details,
            )
        )
    audit.append_many(session, events)
    return outcomes


def refuse(
    session: Session,
    who: Accessor,
    grant: Grant,
    action: str,
    reason: str,
    document_id: uuid.UUID | None,
) -> None:
    audit.append_after_refusal(
        session, _event(who, grant, action, audit.Outcome.DENIED, document_id, reason)
    )
