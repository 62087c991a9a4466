"""An agency's plain download, checked, counted and audited in one round trip.

The same rule as vault.sharing.access (the grant is this agency's, live, has a use left and
holds the paper), for the common case: the paper streamed as stored. The downloads arriving
together share one batch (vault.db.group_commit: sixteen clients of one grant would otherwise
queue on its row lock, one commit each). On PostgreSQL the batch is one statement,
`vault_share_fetch` (migration 0018), committing by itself: for each download it checks the
grant, counts the use, appends the event to the citizen's chain under the chain's lock and
reads the paper's key material. On SQLite, in process, the same steps run in one BEGIN
IMMEDIATE transaction, its events appended with one INSERT. Nothing is written for a download
whose checks fail: its caller goes the long way, which names and audits the refusal. The use
is counted before the store is read, so a paper the store fails to give costs its use, as a
download the agency abandons does.

A caller that has not authenticated the agency itself (vault.api.lean_fetch) gives the hash of
the agency's bearer token: the same round trip then checks that the token still holds
(vault.agencies.holds) for the agency it names, so a token revoked or expired, or an agency
disabled, is refused from the next download on, however long the caller remembers whose token
it was (vault.agencies.Bearers).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Engine, Row, Select, bindparam, select, text, update
from sqlmodel import Session, col

from vault import agencies, audit, crypto, db
from vault.agencies.models import Agency, AgencyToken
from vault.audit import metrics
from vault.catalog.document_types import Trust
from vault.db import group_commit
from vault.documents.models import Document, DocumentVersion
from vault.sharing import grants
from vault.sharing.models import Grant, GrantDocument

DOWNLOAD = "share.download"
# The holes of the event's canonical text, in its order: what the statement fills in.
_HOLES = ("chain", "details.doc_type", "details.version", "grant_id", "seq")


def details(doc_type: str, version: int, *, stamped: bool) -> dict[str, object]:
    """What a download's event says of the paper."""
    return {"doc_type": doc_type, "version": version, "stamped": stamped}


@dataclass(frozen=True)
class Asked:
    """One agency download to check and count. `bearer_hash`: the hash of the agency's bearer
    token, to be checked in the same round trip; None when the caller authenticated the
    agency."""

    token: str
    agency_id: uuid.UUID
    actor: tuple[str, str]
    document_id: uuid.UUID
    bearer_hash: str | None = None


Counted = tuple[Document, DocumentVersion]


@dataclass(eq=False)
class _Download:
    token_hash: str
    agency_id: uuid.UUID
    actor: tuple[str, str]
    document_id: uuid.UUID
    bearer_hash: str | None
    found: Counted | None = None


def count_downloads(engine: Engine, asked: Sequence[Asked]) -> list[Counted | None | Exception]:
    """For each download, in order: the paper, its use counted and its download audited,
    committed; None, with nothing written, when any check fails; or the error that kept it
    from being recorded. Downloads asked together share a batch, whoever else joins it."""
    downloads = [
        _Download(crypto.hash_token(a.token), a.agency_id, a.actor, a.document_id, a.bearer_hash)
        for a in asked
    ]
    postgresql = engine.dialect.name == "postgresql"
    apply = _in_one_statement if postgresql else _in_one_transaction
    errors = group_commit.for_engine(engine, apply, one_statement=True).submit_all(
        engine, downloads
    )
    outcomes: list[Counted | None | Exception] = []
    for download, error in zip(downloads, errors, strict=True):
        if error is None and download.found is not None:
            # Written outside the ORM: counted here, once committed.
            metrics.count_written(DOWNLOAD, audit.Outcome.SUCCESS)
        outcomes.append(error or download.found)
    return outcomes


def _event(download: _Download) -> audit.Event:
    """The download's event as far as it is known before its grant is found."""
    return audit.Event(
        DOWNLOAD,
        subject=None,
        actor_type=download.actor[0],
        actor_id=download.actor[1],
        document_id=download.document_id,
        agency_id=download.agency_id,
        details=details("", 0, stamped=False),
    )


def _in_one_statement(session: Session, downloads: Sequence[_Download]) -> list[Exception | None]:
    at = db.utc_now()
    # Grant rows are locked in the order of their tokens' hashes, the same in every batch.
    ordered = sorted(downloads, key=lambda download: download.token_hash)
    shapes = [audit.template(_event(download), at, _HOLES) for download in ordered]
    rows = (
        session.connection()
        .execute(
            _FETCH,
            {
                "token_hashes": [download.token_hash for download in ordered],
                "bearer_hashes": [download.bearer_hash for download in ordered],
                "agency_ids": [download.agency_id for download in ordered],
                "document_ids": [download.document_id for download in ordered],
                "actor_types": [download.actor[0] for download in ordered],
                "actor_ids": [download.actor[1] for download in ordered],
                "at": at,
                "action": DOWNLOAD,
                "domain": audit.DOMAIN,
                "body": [piece for shape in shapes for piece in shape.body],
                "details": [piece for shape in shapes for piece in shape.details],
            },
        )
        .all()
    )
    for download in downloads:
        download.found = None
    for row in rows:
        download = ordered[row.item - 1]
        download.found = _paper(download.document_id, row)
    return [None] * len(downloads)


# A download whose bearer token no longer holds (vault.agencies.holds) is given no agency: no
# grant is that of no agency, so it gets no row. The arguments are computed from the
# statement's snapshot, taken as it starts: a revocation committed before then is seen.
_FETCH = text(
    "SELECT * FROM vault_share_fetch(:token_hashes,"
    " ARRAY(SELECT CASE WHEN b.bearer IS NULL OR EXISTS ("
    "   SELECT FROM agency_token AS t JOIN agency AS a ON a.id = t.agency_id"
    "    WHERE t.token_hash = b.bearer AND t.agency_id = b.agency AND t.officer_id IS NULL"
    "      AND t.expires_at > :at AND a.disabled_at IS NULL) THEN b.agency END"
    "   FROM unnest(CAST(:bearer_hashes AS text[]), CAST(:agency_ids AS uuid[]))"
    "        WITH ORDINALITY AS b(bearer, agency, n) ORDER BY b.n),"
    " :document_ids, :actor_types, :actor_ids, :at, :action, :domain, :body, :details)"
)


def _in_one_transaction(session: Session, downloads: Sequence[_Download]) -> list[Exception | None]:
    """A statement for the batch's grants, one for its bearer tokens, one counting the uses
    and one appending the events, whatever the batch's size: each statement gives up the GIL
    and waits to take it back from the event loop, and every download waits for the batch
    (two statements per download cost about a tenth more CPU per fetch)."""
    at = db.utc_now()
    connection = session.connection()
    for download in downloads:
        download.found = None
    found = {
        (row.token_hash, row.document_id): row
        for row in connection.execute(
            _FIND,
            {
                "token_hashes": sorted({download.token_hash for download in downloads}),
                "document_ids": sorted({download.document_id for download in downloads}),
                "at": at,
            },
        )
    }
    bearers = sorted({download.bearer_hash for download in downloads if download.bearer_hash})
    holding = (
        {tuple(row) for row in connection.execute(_HOLDING, {"bearer_hashes": bearers, "at": at})}
        if bearers
        else set()
    )
    counted: Counter[uuid.UUID] = Counter()
    events = []
    for download in downloads:
        row = found.get((download.token_hash, download.document_id))
        if (
            row is None
            or row.agency_id != download.agency_id
            or (
                download.bearer_hash is not None
                and (download.bearer_hash, download.agency_id) not in holding
            )
            # BEGIN IMMEDIATE holds the write lock: the uses read above are the grant's own.
            or grants.used_up(row.uses + counted[row.grant_id], row.max_uses)
        ):
            continue
        counted[row.grant_id] += 1
        download.found = _paper(download.document_id, row)
        events.append(
            replace(
                _event(download),
                subject=row.citizen_id,
                grant_id=row.grant_id,
                details=details(row.doc_type, row.version, stamped=False),
            )
        )
    if counted:
        connection.execute(_COUNT, [{"grant_id": g, "taken": n} for g, n in counted.items()])
    audit.insert_many(session, events)
    return [None] * len(downloads)


# The batch's live grants holding its papers as stored; whose they are and whether a use is
# left is the caller's to check, download by download.
_FIND: Select[*tuple[Any, ...]] = (
    select(
        col(Grant.token_hash),
        col(Grant.agency_id),
        col(Grant.uses),
        col(Grant.max_uses),
        col(GrantDocument.document_id),
        col(Grant.id).label("grant_id"),
        col(Grant.citizen_id),
        col(Document.doc_type),
        col(DocumentVersion.version),
        col(DocumentVersion.object_key),
        col(DocumentVersion.kek_version),
        col(DocumentVersion.wrapped_dek),
        col(DocumentVersion.content_type),
        col(DocumentVersion.size),
        col(DocumentVersion.pages),
        col(DocumentVersion.trust),
        col(DocumentVersion.sealed_metadata),
    )
    .join(GrantDocument, col(GrantDocument.grant_id) == Grant.id)
    .join(Document, col(Document.id) == GrantDocument.document_id)
    .join(
        DocumentVersion,
        (col(DocumentVersion.document_id) == Document.id)
        & (col(DocumentVersion.version) == GrantDocument.version),
    )
    .where(
        col(Grant.token_hash).in_(bindparam("token_hashes", expanding=True)),
        col(Grant.revoked_at).is_(None),
        col(Grant.expires_at) > bindparam("at"),
        col(GrantDocument.document_id).in_(bindparam("document_ids", expanding=True)),
        col(GrantDocument.masks).is_(None),
    )
)
# The batch's bearer tokens that still hold, with their agencies.
_HOLDING = (
    select(col(AgencyToken.token_hash), col(AgencyToken.agency_id))
    .join(Agency, col(Agency.id) == AgencyToken.agency_id)
    .where(
        col(AgencyToken.token_hash).in_(bindparam("bearer_hashes", expanding=True)),
        *agencies.holds(bindparam("at")),
    )
)
_COUNT = (
    update(Grant)
    .where(col(Grant.id) == bindparam("grant_id"))
    .values(uses=col(Grant.uses) + bindparam("taken"))
)


def _paper(document_id: uuid.UUID, row: Row[Any]) -> Counted:
    """The paper as the checks read it, for streaming (vault.documents.content_of reads it from
    these): built unvalidated, the values being the database's own, and held by no session."""
    document = Document.model_construct(
        id=document_id, owner_id=row.citizen_id, doc_type=row.doc_type
    )
    version = DocumentVersion.model_construct(
        document_id=document_id,
        version=row.version,
        object_key=row.object_key,
        kek_version=row.kek_version,
        wrapped_dek=row.wrapped_dek,
        content_type=row.content_type,
        size=row.size,
        pages=row.pages,
        trust=Trust(row.trust),
        sealed_metadata=row.sealed_metadata,
    )
    return document, version
