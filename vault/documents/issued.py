"""Papers an agency issues into a citizen's vault: trusted only with a verified signature."""

from __future__ import annotations

import base64
import binascii
import hashlib
import uuid
from dataclasses import dataclass

from sqlmodel import Session

from vault.accounts.models import Citizen
from vault.agencies.models import Agency
from vault.blobs.backend import Backend
from vault.crypto import signatures
from vault.documents import uploads
from vault.documents.forms import DetailsForm
from vault.documents.reading import content_of, get, version_row
from vault.kit.errors import InvalidInput, NotFound


@dataclass(frozen=True)
class Issuer:
    """An agency depositing a paper it issued, and the key its signature must verify under."""

    agency_id: uuid.UUID
    public_key_pem: str
    doc_type: str


@dataclass(frozen=True)
class Issuance:
    agency_id: uuid.UUID
    signature: bytes
    key_pem: str


@dataclass(frozen=True)
class SignatureView:
    document_id: uuid.UUID
    version: int
    issuer_code: str
    issuer_name: str
    algorithm: str
    signature: str
    sha256: str
    public_key: str
    valid: bool
    key_is_current: bool


def check(issuer: Issuer, received: uploads.Received, form: DetailsForm) -> Issuance:
    """The detached signature over the SHA-256 of the paper as stored; refused otherwise.
    An agency issues only the paper its procedure issues: a commune office that completes a
    marriage registration cannot plant an identity card that later dossiers would trust."""
    if form.doc_type != issuer.doc_type:
        raise InvalidInput(
            f"This procedure issues a paper of type {issuer.doc_type}, not {form.doc_type}.",
            field="doc_type",
        )
    if not received.verbatim:
        raise InvalidInput(
            "An issued paper is deposited as one PDF, kept byte for byte so that its "
            "signature stays verifiable.",
            field="file",
        )
    if not form.signature:
        raise InvalidInput(
            "signature (base64, over the SHA-256 of the paper) is required.", field="signature"
        )
    try:
        signature = base64.b64decode(form.signature.replace("-", "+").replace("_", "/") + "==")
    except (binascii.Error, ValueError):
        raise InvalidInput("signature is not base64.", field="signature") from None
    if not signatures.verify(
        issuer.public_key_pem, bytes.fromhex(received.content.sha256), signature
    ):
        raise InvalidInput(
            "The signature does not verify under the agency's registered key; nothing was stored.",
            field="signature",
        )
    return Issuance(issuer.agency_id, signature, issuer.public_key_pem)


def signature_of(
    session: Session, backend: Backend, *, owner: Citizen, document_id: uuid.UUID
) -> SignatureView:
    """The issuer's signature of the current version, checked again against the stored bytes."""
    document = get(session, owner=owner, document_id=document_id)
    row = version_row(session, document, document.current_version)
    if row.signature is None or row.signer_key_pem is None or row.issuer_agency_id is None:
        raise NotFound("This paper carries no issuer's signature.")
    agency = session.get(Agency, row.issuer_agency_id)
    assert agency is not None
    content = content_of(session, backend, document, row)
    digest = hashlib.sha256()
    for chunk in content.chunks():
        digest.update(chunk)
    valid = digest.hexdigest() == content.sha256 and signatures.verify(
        row.signer_key_pem, digest.digest(), row.signature
    )
    return SignatureView(
        document_id=document.id,
        version=row.version,
        issuer_code=agency.code,
        issuer_name=agency.name,
        algorithm=signatures.algorithm_of(row.signer_key_pem),
        signature=base64.b64encode(row.signature).decode(),
        sha256=content.sha256,
        public_key=row.signer_key_pem,
        valid=valid,
        key_is_current=agency.signing_key_pem == row.signer_key_pem,
    )
