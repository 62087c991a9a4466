"""Erasing a citizen's account: it reaches into every domain (dossiers, grants, papers,
keys, the audit log), so it sits above them all and none of them imports it."""

from __future__ import annotations

from sqlmodel import Session, col, select

from vault import audit, db, documents
from vault.accounts.models import Citizen
from vault.blobs import objects
from vault.blobs.backend import Backend
from vault.documents.models import Document
from vault.dossiers.models import Dossier
from vault.sharing.models import Grant


def erase(session: Session, backend: Backend, citizen: Citizen) -> None:
    """Account deletion: the citizen key goes with the account, which makes every data key of
    the citizen unopenable at commit; the objects are deleted once the commit has landed.
    Its dossiers and then its grants are locked first, in the order every other change takes
    them (dossier, grant, audit chain), so that none of them can deadlock with the erasure."""
    for model in (Dossier, Grant):
        session.exec(
            select(model.id)
            .where(model.citizen_id == citizen.id)
            .order_by(col(model.id))
            .with_for_update()
        ).all()
    document_ids = list(
        session.exec(select(Document.id).where(Document.owner_id == citizen.id)).all()
    )
    keys = documents.shred(session, backend, document_ids)
    audit.append(
        session,
        audit.Event(
            "account.erase",
            subject=citizen.id,
            actor_type="citizen",
            actor_id=str(citizen.id),
            details={"documents": len(document_ids)},
        ),
    )
    session.delete(citizen)
    session.flush()
    db.after_commit(session, lambda: backend.keyring.forget(citizen.id))
    db.after_commit(session, lambda: objects.discard_all(backend.store, keys))
    db.purge_deleted(session)
