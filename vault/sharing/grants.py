"""Share grants as the citizen sees them: chosen papers, one agency, a purpose, a lifetime,
optionally a number of downloads; revocable at once."""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from vault import agencies, audit, crypto, db, documents
from vault.accounts.models import Citizen
from vault.agencies.models import Agency
from vault.blobs.backend import Backend
from vault.documents.models import Document
from vault.kit import text
from vault.kit.errors import InvalidInput, NotFound
from vault.sharing import masks as masking_rules
from vault.sharing.masks import Mask
from vault.sharing.models import Grant, GrantDocument, GrantStatus

MAX_DAYS = 90
MAX_USES = 10_000
DEFAULT_DAYS = 7
MAX_PURPOSE = 300
MAX_PAPERS = 50
_TOKEN_LABEL = b"dvlt/v1/grant-token"
_PURPOSE_LABEL = b"dvlt/v1/grant-purpose"


@dataclass(frozen=True)
class GrantView:
    id: uuid.UUID
    agency_code: str
    agency_name: str
    document_ids: list[uuid.UUID]
    purpose: str
    created_at: datetime
    expires_at: datetime
    max_uses: int | None
    uses: int
    status: GrantStatus
    revoked_at: datetime | None
    # The masked papers' masks; a paper not named here is shared whole.
    masks: dict[uuid.UUID, list[Mask]]
    share_url: str | None = None
    token: str | None = None


def used_up(uses: int, max_uses: int | None) -> bool:
    """Whether a grant of at most `max_uses` downloads has none left after `uses`."""
    return max_uses is not None and uses >= max_uses


def status(grant: Grant, now: datetime | None = None) -> GrantStatus:
    now = now or db.utc_now()
    if grant.revoked_at is not None:
        return grant.ended_as or GrantStatus.REVOKED
    if used_up(grant.uses, grant.max_uses):
        return GrantStatus.USED_UP
    if db.aware(grant.expires_at) <= now:
        return GrantStatus.EXPIRED
    return GrantStatus.ACTIVE


def create(
    session: Session,
    backend: Backend,
    *,
    owner: Citizen,
    agency_code: str,
    document_ids: list[uuid.UUID],
    purpose: str,
    expires_in_days: int = DEFAULT_DAYS,
    max_uses: int | None = None,
    public_url: str,
    require_papers: bool = True,
    versions: Mapping[uuid.UUID, int] | None = None,
    masks: Mapping[uuid.UUID, Sequence[Mask]] | None = None,
) -> GrantView:
    """`require_papers=False` for a dossier whose papers are all optional and none attached;
    `versions`: the version to share of a paper, where it is not the current one — a dossier
    shares the version its rules checked, not one uploaded since; `masks`: the parts of a
    paper to black out in every copy the agency receives (vault.sharing.masks)."""
    purpose = text.one_line(purpose)
    if not purpose:
        raise InvalidInput("Say what the papers are shared for.", field="purpose")
    if len(purpose) > MAX_PURPOSE:
        raise InvalidInput(f"A purpose has at most {MAX_PURPOSE} characters.", field="purpose")
    if not 1 <= expires_in_days <= MAX_DAYS:
        raise InvalidInput(f"A grant lasts 1 to {MAX_DAYS} days.", field="expires_in_days")
    if max_uses is not None and not 1 <= max_uses <= MAX_USES:
        raise InvalidInput(f"max_uses is 1 to {MAX_USES}, or absent.", field="max_uses")
    unique_ids = list(dict.fromkeys(document_ids))
    if not (1 if require_papers else 0) <= len(unique_ids) <= MAX_PAPERS:
        raise InvalidInput(f"Share 1 to {MAX_PAPERS} papers.", field="document_ids")
    papers = [documents.get(session, owner=owner, document_id=i) for i in unique_ids]
    shared = {p.id: (versions or {}).get(p.id, p.current_version) for p in papers}
    checked = _checked_masks(session, backend, papers, shared, masks or {})
    agency = agencies.active_by_code(session, agency_code)

    kek = _citizen_key(session, backend, owner.id)
    grant = Grant(
        id=uuid.uuid4(),
        citizen_id=owner.id,
        agency_id=agency.id,
        token_salt=os.urandom(32),
        token_hash="",
        sealed_purpose=b"",
        expires_at=db.utc_now() + timedelta(days=expires_in_days),
        max_uses=max_uses,
    )
    token = _token(kek, grant)
    grant.token_hash = crypto.hash_token(token)
    grant.sealed_purpose = crypto.seal(
        crypto.subkey(kek, _PURPOSE_LABEL), purpose.encode(), aad=grant.id.bytes
    )
    session.add(grant)
    session.flush()
    for paper in papers:
        session.add(
            GrantDocument(
                grant_id=grant.id,
                document_id=paper.id,
                version=shared[paper.id],
                masks=masking_rules.dump(checked.get(paper.id, [])),
            )
        )
    audit.append(
        session,
        audit.Event(
            "grant.create",
            subject=owner.id,
            actor_type="citizen",
            actor_id=str(owner.id),
            grant_id=grant.id,
            agency_id=agency.id,
            details={
                "documents": len(papers),
                "days": expires_in_days,
                "max_uses": max_uses,
                **({"masked": len(checked)} if checked else {}),
            },
        ),
    )
    session.flush()
    view = _view(session, backend, grant, agency)
    return _with_link(view, token, public_url)


def list_for(session: Session, backend: Backend, *, owner: Citizen) -> list[GrantView]:
    rows = session.exec(
        select(Grant, Agency)
        .join(Agency, col(Agency.id) == Grant.agency_id)
        .where(Grant.citizen_id == owner.id)
        .order_by(col(Grant.created_at).desc())
    ).all()
    return [_view(session, backend, grant, agency) for grant, agency in rows]


def owned(session: Session, *, owner: Citizen, grant_id: uuid.UUID) -> Grant:
    grant = session.exec(
        select(Grant).where(Grant.id == grant_id, Grant.citizen_id == owner.id)
    ).first()
    if grant is None:
        raise NotFound("No such grant.")
    return grant


def get(session: Session, backend: Backend, *, owner: Citizen, grant_id: uuid.UUID) -> GrantView:
    grant = owned(session, owner=owner, grant_id=grant_id)
    return _view(session, backend, grant, session.get(Agency, grant.agency_id))  # type: ignore[arg-type]


def revoke(session: Session, *, owner: Citizen, grant_id: uuid.UUID) -> None:
    """Effective for the very next request: every agency access reads the grant's state."""
    grant = owned(session, owner=owner, grant_id=grant_id)
    end(session, grant.id, actor=("citizen", str(owner.id)))


def end(
    session: Session,
    grant_id: uuid.UUID,
    *,
    actor: tuple[str, str],
    completed: bool = False,
) -> None:
    """Revoke a grant if it is still open. A closed dossier ends its grant this way; one the
    agency completed ends it as `completed`, for the citizen revoked nothing."""
    ending = GrantStatus.COMPLETED if completed else GrantStatus.REVOKED
    grant = session.get(Grant, grant_id)
    if grant is None:
        return
    ended = session.execute(
        update(Grant)
        .where(col(Grant.id) == grant.id, col(Grant.revoked_at).is_(None))
        .values(revoked_at=db.utc_now(), ended_as=ending)
        .execution_options(synchronize_session=False)
    )
    if ended.rowcount:  # type: ignore[attr-defined]
        audit.append(
            session,
            audit.Event(
                "grant.complete" if completed else "grant.revoke",
                subject=grant.citizen_id,
                actor_type=actor[0],
                actor_id=actor[1],
                grant_id=grant.id,
                agency_id=grant.agency_id,
            ),
        )


def share_url(
    session: Session, backend: Backend, *, owner: Citizen, grant_id: uuid.UUID, public_url: str
) -> str:
    """The link again, for showing the QR code: recomputed under the citizen's key, not stored."""
    grant = owned(session, owner=owner, grant_id=grant_id)
    return link(public_url, _token(_citizen_key(session, backend, owner.id), grant))


def link(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/agency/share/{token}"


def purpose_of(session: Session, backend: Backend, grant: Grant) -> str:
    kek = _citizen_key(session, backend, grant.citizen_id)
    key = crypto.subkey(kek, _PURPOSE_LABEL)
    return crypto.open_box(key, grant.sealed_purpose, aad=grant.id.bytes).decode()


def _token(kek: bytes, grant: Grant) -> str:
    return crypto.derive_token(crypto.subkey(kek, _TOKEN_LABEL), grant.id.bytes + grant.token_salt)


def _citizen_key(session: Session, backend: Backend, citizen_id: uuid.UUID) -> bytes:
    return backend.keyring.citizen_key(session, citizen_id)[1]


def _checked_masks(
    session: Session,
    backend: Backend,
    papers: list[Document],
    shared: Mapping[uuid.UUID, int],
    masks: Mapping[uuid.UUID, Sequence[Mask]],
) -> masking_rules.Masks:
    """Checked against the version each paper is shared at."""
    if not masks:
        return {}
    facts = {}
    for paper in papers:
        row = documents.version_row(session, paper, shared[paper.id])
        facts[paper.id] = masking_rules.Paper(row.pages, row.content_type, row.size)
    return masking_rules.check(masks, facts, max_bytes=backend.limits.max_image_bytes)


def _view(session: Session, backend: Backend, grant: Grant, agency: Agency) -> GrantView:
    links = session.exec(select(GrantDocument).where(GrantDocument.grant_id == grant.id)).all()
    document_ids = [link.document_id for link in links]
    return GrantView(
        id=grant.id,
        agency_code=agency.code,
        agency_name=agency.name,
        document_ids=document_ids,
        purpose=purpose_of(session, backend, grant),
        created_at=grant.created_at,
        expires_at=db.aware(grant.expires_at),
        max_uses=grant.max_uses,
        uses=grant.uses,
        status=status(grant),
        revoked_at=grant.revoked_at,
        masks={link.document_id: masking_rules.load(link.masks) for link in links if link.masks},
    )


def _with_link(view: GrantView, token: str, public_url: str) -> GrantView:
    return replace(view, token=token, share_url=link(public_url, token))
