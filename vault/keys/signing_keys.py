"""The operator's key that signs the audit log's checkpoints: Ed25519, its private half
wrapped under a master key version like an agency's key (vault.keys.agency_keys), bound (AAD)
to its id. `vault keys rotate` rewraps it; `vault keys retire` refuses a version that still
wraps it. Replacing it retires the old one, which stays: what it signed keeps verifying.

Its name is the log's origin (`<host>/audit`), so the published verifier key names the log,
and its id is derived from its public key as an agency key's is.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import Session, col, func, select

from vault import crypto
from vault.crypto import MasterKeys, statements
from vault.db import utc_now
from vault.keys.agency_keys import key_id_of
from vault.keys.models import AuditSigningKey


def create(session: Session, master: MasterKeys, name: str) -> AuditSigningKey:
    """A new signing key; the live one, if any, is retired."""
    private = statements.new_signing_key()
    public = statements.public_key_of(private)
    key_id, version = key_id_of(public), master.current_version
    session.execute(
        update(AuditSigningKey)
        .where(col(AuditSigningKey.retired_at).is_(None))
        .values(retired_at=utc_now())
    )
    row = AuditSigningKey(
        key_id=key_id,
        name=name,
        public_key=public,
        master_version=version,
        wrapped_key=master.wrap(version, private, aad=_aad(key_id, version)),
    )
    session.add(row)
    session.flush()
    return row


def live(session: Session) -> AuditSigningKey | None:
    return session.exec(
        select(AuditSigningKey)
        .where(col(AuditSigningKey.retired_at).is_(None))
        .order_by(col(AuditSigningKey.created_at).desc())
        .limit(1)
    ).first()


def unwrap(master: MasterKeys, row: AuditSigningKey) -> bytes:
    return master.unwrap(
        row.master_version, row.wrapped_key, aad=_aad(row.key_id, row.master_version)
    )


def rewrap(session: Session, master: MasterKeys, target: int) -> int:
    rows = session.exec(
        select(AuditSigningKey).where(AuditSigningKey.master_version < target)
    ).all()
    updated = 0
    for row in rows:
        private = unwrap(master, row)
        result = session.execute(
            update(AuditSigningKey)
            .where(
                col(AuditSigningKey.key_id) == row.key_id,
                col(AuditSigningKey.master_version) == row.master_version,
            )
            .values(
                wrapped_key=master.wrap(target, private, aad=_aad(row.key_id, target)),
                master_version=target,
                rewrapped_at=utc_now(),
            )
        )
        updated += result.rowcount  # type: ignore[attr-defined]
    return updated


def usage_by_version(session: Session) -> dict[int, int]:
    rows = session.exec(
        select(AuditSigningKey.master_version, func.count()).group_by(
            col(AuditSigningKey.master_version)
        )
    ).all()
    return dict(rows)


def _aad(key_id: str, version: int) -> bytes:
    return crypto.signing_key_aad(key_id=key_id, master_version=version)
