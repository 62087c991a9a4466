"""Certified copies (chứng thực bản sao từ bản chính): an officer who has seen the original
vouches that a stored paper's current version is a true copy of it.

The vault signs a statement with the officer's agency's `certify` key (Ed25519):

    {"agency": code, "certified_at": "YYYY-MM-DDTHH:MM:SSZ", "citizen": reference,
     "doc_type": code, "officer": username, "sha256": hex, "version": n}

as canonical JSON (keys sorted, no spaces, UTF-8), signed as those exact bytes. Anyone holding
the paper, the statement, the signature and the agency's published key can check it offline:
the signature over the statement, then the paper's SHA-256 against the statement's.

`citizen` is the vault's keyed hash of the citizen id (`Keyring.citizen_reference`): it is the
same in every statement about one citizen, so an agency can tell that two certified papers
belong to the same person, but it reveals neither the id nor the national ID number, and only
the vault can say whose it is.

The certified version's trust becomes `certified`, which dossier rules asking for it accept. A
new version is a new scan nobody has vouched for: it starts as a self-made scan, and the
certification of the older version is no longer the paper's.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from sqlmodel import Session, col, select

from vault import audit, crypto, db, documents
from vault.accounts.acting import Acting
from vault.accounts.models import Citizen
from vault.assist.agency_keys import CERTIFY
from vault.assist.models import Certification
from vault.blobs.backend import Backend
from vault.catalog.document_types import Trust
from vault.crypto import statements
from vault.documents.models import Document, DocumentVersion
from vault.documents.sealing import data_key, object_binding, open_metadata
from vault.keys import ObjectBinding, agency_keys
from vault.kit import text
from vault.kit.errors import Conflict, Forbidden, InvalidInput, NotFound

MAX_NOTE = 500
_SEALING_LABEL = b"dvlt/v1/certification-key"


@dataclass(frozen=True)
class CertificationView:
    statement: bytes
    signature: bytes
    key_id: str
    note: str | None
    algorithm: str = statements.ALGORITHM


def certify(
    session: Session,
    backend: Backend,
    *,
    acting: Acting | None,
    citizen: Citizen,
    document_id: uuid.UUID,
    version: int,
    note: str | None = None,
) -> CertificationView:
    if acting is None or acting.officer is None or acting.agency is None:
        raise Forbidden(
            "Only an officer at the counter, acting for the citizen, can certify a copy."
        )
    note = _checked_note(note)
    document = documents.get(session, owner=citizen, document_id=document_id)
    if version != document.current_version:
        raise Conflict(
            f"Version {version} is not the current version of this paper "
            f"({document.current_version}); only the current one can be certified."
        )
    row = documents.version_row(session, document, version)
    session.refresh(row, with_for_update=True)  # a reading confirmed at once waits, or we do
    if row.trust is Trust.ISSUED:
        raise Conflict(
            "This paper was issued into the vault with its agency's signature; "
            "it needs no certified copy."
        )
    key = agency_keys.live(session, agency_id=acting.agency.id, use=CERTIFY)
    if key is None:
        raise Conflict(
            f"The agency {acting.agency.code} has no certifying key yet; an operator makes one "
            f"with `vault agency certify-key --code {acting.agency.code}`."
        )
    dek = _data_key(session, backend, document, row)
    now = db.utc_now()
    statement = _statement(
        sha256=open_metadata(dek, _binding(document, row), row.sealed_metadata)["sha256"],
        doc_type=document.doc_type,
        version=version,
        citizen=backend.keyring.citizen_reference(session, citizen.id),
        agency=acting.agency.code,
        officer=acting.officer.username,
        certified_at=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    signature = statements.sign(backend.keyring.agency_private_key(key), statement)
    certification = Certification(
        document_id=document.id,
        version=version,
        agency_id=acting.agency.id,
        officer_id=acting.officer.id,
        key_id=key.key_id,
        sealed_statement=b"",
        signature=signature,
        certified_at=now,
    )
    certification.sealed_statement = _seal(dek, certification, b"statement", statement)
    if note is not None:
        certification.sealed_note = _seal(dek, certification, b"note", note.encode())
    row.trust = Trust.CERTIFIED
    session.add_all([row, certification])
    audit.append(
        session,
        audit.Event(
            "document.certify",
            subject=citizen.id,
            actor_type="citizen",
            actor_id=str(citizen.id),
            document_id=document.id,
            details={"doc_type": document.doc_type, "version": version, "key_id": key.key_id},
        ),
    )
    session.flush()
    return CertificationView(statement, signature, key.key_id, note)


def certification_of(
    session: Session, backend: Backend, *, owner: Citizen, document_id: uuid.UUID
) -> CertificationView:
    """The newest certification of the paper's current version."""
    document = documents.get(session, owner=owner, document_id=document_id)
    certification = session.exec(
        select(Certification)
        .where(
            Certification.document_id == document.id,
            Certification.version == document.current_version,
        )
        .order_by(col(Certification.certified_at).desc())
        .limit(1)
    ).first()
    if certification is None:
        raise NotFound("The current version of this paper is not certified.")
    row = documents.version_row(session, document, certification.version)
    dek = _data_key(session, backend, document, row)
    note = certification.sealed_note
    return CertificationView(
        statement=_open(dek, certification, b"statement", certification.sealed_statement),
        signature=certification.signature,
        key_id=certification.key_id,
        note=_open(dek, certification, b"note", note).decode() if note else None,
    )


def _statement(**fields: str | int) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _checked_note(note: str | None) -> str | None:
    if note is None:
        return None
    note = text.one_line(note)
    if len(note) > MAX_NOTE:
        raise InvalidInput(f"A note has at most {MAX_NOTE} characters.", field="note")
    return note or None


def _binding(document: Document, row: DocumentVersion) -> ObjectBinding:
    return object_binding(crypto.ObjectKind.CONTENT, document.id, document.owner_id, row.version)


def _data_key(
    session: Session, backend: Backend, document: Document, row: DocumentVersion
) -> bytes:
    binding = _binding(document, row)
    return data_key(session, backend, document.owner_id, row.kek_version, row.wrapped_dek, binding)


def _seal(dek: bytes, certification: Certification, part: bytes, data: bytes) -> bytes:
    return crypto.seal(crypto.subkey(dek, _SEALING_LABEL), data, aad=_aad(certification, part))


def _open(dek: bytes, certification: Certification, part: bytes, box: bytes) -> bytes:
    return crypto.open_box(crypto.subkey(dek, _SEALING_LABEL), box, aad=_aad(certification, part))


def _aad(certification: Certification, part: bytes) -> bytes:
    return (
        b"dvlt/v1/certification/"
        + part
        + certification.id.bytes
        + certification.document_id.bytes
        + certification.version.to_bytes(4, "big")
    )
