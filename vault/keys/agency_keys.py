"""Agencies' Ed25519 private keys at rest: wrapped under a master key version, like a citizen
key, and bound (AAD) to the key's id and its agency, so a wrapped key copied onto another row
or another agency does not open.

The table lives here, not with the agencies, because the master key's life cycle must see
it: `vault keys rotate` rewraps these rows with the citizen keys, and `vault keys retire`
refuses a version that still wraps one. The keys layer may not import a domain, so the rows
name their agency only by id. Who may make a key and what it signs is `vault.assist`.

A key's id is derived from its public key (the first 96 bits of its SHA-256, base64url), so
anyone holding both can check that they belong together.
"""

from __future__ import annotations

import base64
import hashlib
import uuid

from sqlalchemy import update
from sqlmodel import Session, col, func, select

from vault import crypto
from vault.crypto import MasterKeys, statements
from vault.db import utc_now
from vault.keys.models import AgencyKey, KeyUse

CERTIFY = KeyUse.CERTIFY


def key_id_of(public_key: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(public_key).digest()[:12]).decode()


def new_row(master: MasterKeys, *, agency_id: uuid.UUID, use: KeyUse) -> AgencyKey:
    private = statements.new_signing_key()
    public = statements.public_key_of(private)
    key_id, version = key_id_of(public), master.current_version
    return AgencyKey(
        key_id=key_id,
        agency_id=agency_id,
        use=use,
        public_key=public,
        master_version=version,
        wrapped_key=master.wrap(version, private, aad=_aad(key_id, agency_id, version)),
    )


def unwrap(master: MasterKeys, row: AgencyKey) -> bytes:
    return master.unwrap(
        row.master_version, row.wrapped_key, aad=_aad(row.key_id, row.agency_id, row.master_version)
    )


def retire_live(session: Session, *, agency_id: uuid.UUID, use: KeyUse) -> None:
    session.execute(
        update(AgencyKey)
        .where(
            col(AgencyKey.agency_id) == agency_id,
            col(AgencyKey.use) == use,
            col(AgencyKey.retired_at).is_(None),
        )
        .values(retired_at=utc_now())
    )


def live(session: Session, *, agency_id: uuid.UUID, use: KeyUse) -> AgencyKey | None:
    """The key that signs from now on: the newest one not retired."""
    return session.exec(
        select(AgencyKey)
        .where(
            AgencyKey.agency_id == agency_id,
            AgencyKey.use == use,
            col(AgencyKey.retired_at).is_(None),
        )
        .order_by(col(AgencyKey.created_at).desc())
        .limit(1)
    ).first()


def of_agency(session: Session, agency_id: uuid.UUID) -> list[AgencyKey]:
    """Every key of the agency, retired ones included, oldest first."""
    return list(
        session.exec(
            select(AgencyKey)
            .where(AgencyKey.agency_id == agency_id)
            .order_by(col(AgencyKey.created_at), col(AgencyKey.key_id))
        ).all()
    )


def rewrap(session: Session, master: MasterKeys, target: int) -> int:
    """Every agency key under an older version, rewrapped under `target` (compare-and-set);
    there are a few per agency, so all in one go, like the index key."""
    rows = session.exec(select(AgencyKey).where(AgencyKey.master_version < target)).all()
    updated = 0
    for row in rows:
        private = unwrap(master, row)
        aad = _aad(row.key_id, row.agency_id, target)
        result = session.execute(
            update(AgencyKey)
            .where(
                col(AgencyKey.key_id) == row.key_id,
                col(AgencyKey.master_version) == row.master_version,
            )
            .values(
                wrapped_key=master.wrap(target, private, aad=aad),
                master_version=target,
                rewrapped_at=utc_now(),
            )
        )
        updated += result.rowcount  # type: ignore[attr-defined]
    return updated


def usage_by_version(session: Session) -> dict[int, int]:
    rows = session.exec(
        select(AgencyKey.master_version, func.count()).group_by(col(AgencyKey.master_version))
    ).all()
    return dict(rows)


def _aad(key_id: str, agency_id: uuid.UUID, version: int) -> bytes:
    return crypto.agency_key_aad(key_id=key_id, agency_id=agency_id, master_version=version)
