"""The keys an agency signs with, as the vault publishes them.

`certify` keys sign certified copies; the vault makes them (`vault agency certify-key`) and
keeps them wrapped under the master key (`vault.keys.agency_keys`). Rotating makes a new key
and retires the old one, which stays published so that what it signed still verifies.

The `issue` key is the one the agency's own system signs issued papers with
(`vault agency set-key`); the vault only holds its public key and lists it when it is
Ed25519. An ECDSA P-256 issuing key has no raw 32-byte form and is not listed here: its
PEM is already returned with each issued paper's signature (GET /documents/{id}/signature).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from sqlmodel import Session

from vault import agencies, audit
from vault.crypto import statements
from vault.keys import Keyring, agency_keys
from vault.keys.models import KeyUse

CERTIFY, ISSUE = KeyUse.CERTIFY, KeyUse.ISSUE


@dataclass(frozen=True)
class PublishedKey:
    key_id: str
    use: KeyUse
    algorithm: str
    public_key: str  # base64url of the raw 32 bytes, without padding

    @classmethod
    def of(cls, key_id: str, use: KeyUse, raw: bytes) -> PublishedKey:
        return cls(key_id, use, statements.ALGORITHM, b64url(raw))


def make_certify_key(session: Session, keyring: Keyring, code: str) -> str:
    """A new certifying key for the agency; its id. Certifications from now on use it."""
    agency = agencies.by_code(session, code)
    row = keyring.create_agency_key(session, agency.id, CERTIFY)
    audit.append(
        session,
        audit.Event(
            "agency.certify_key",
            subject=None,
            actor_type="admin",
            agency_id=agency.id,
            details={"key_id": row.key_id},
        ),
    )
    return row.key_id


def published(session: Session, code: str) -> list[PublishedKey]:
    """Every key of the agency a statement or an issued paper may name, retired ones too."""
    agency = agencies.by_code(session, code)
    keys = [
        PublishedKey.of(row.key_id, row.use, row.public_key)
        for row in agency_keys.of_agency(session, agency.id)
    ]
    raw = statements.raw_public_key(agency.signing_key_pem) if agency.signing_key_pem else None
    if raw is not None:
        keys.append(PublishedKey.of(agency_keys.key_id_of(raw), ISSUE, raw))
    return keys


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
