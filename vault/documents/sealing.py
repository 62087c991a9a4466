"""The crypto glue of documents: what each object is bound to, and its sealed metadata."""

from __future__ import annotations

import json
import uuid

from sqlmodel import Session

from vault import crypto
from vault.blobs.backend import Backend
from vault.keys import ObjectBinding, unwrap_data_key

_META_KEY_LABEL = b"dvlt/v1/meta-key"


def object_binding(
    kind: crypto.ObjectKind, document_id: uuid.UUID, owner_id: uuid.UUID, version: int
) -> ObjectBinding:
    return ObjectBinding(kind=kind, document_id=document_id, owner_id=owner_id, version=version)


def data_key(
    session: Session,
    backend: Backend,
    owner_id: uuid.UUID,
    kek_version: int,
    box: bytes,
    bound: ObjectBinding,
) -> bytes:
    _, kek = backend.keyring.citizen_key(session, owner_id)
    return unwrap_data_key(kek, kek_version, box, bound)


def seal_metadata(dek: bytes, bound: ObjectBinding, metadata: dict[str, str | None]) -> bytes:
    return crypto.seal(_metadata_key(dek), json.dumps(metadata).encode(), aad=_aad(bound))


def open_metadata(dek: bytes, bound: ObjectBinding, sealed: bytes) -> dict[str, str]:
    return json.loads(crypto.open_box(_metadata_key(dek), sealed, aad=_aad(bound)))  # type: ignore[no-any-return]


def _metadata_key(dek: bytes) -> bytes:
    return crypto.subkey(dek, _META_KEY_LABEL)


def _aad(bound: ObjectBinding) -> bytes:
    return crypto.metadata_aad(
        document_id=bound.document_id, owner_id=bound.owner_id, version=bound.version
    )
