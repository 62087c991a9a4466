"""Canonical, fixed-width associated data: what each ciphertext is bound to.

A stored object opens only as the object, document, version and owner it was
sealed for; a wrapped key opens only under the key version named beside it.
Changing any of these in the database or the store makes decryption fail.
"""

import struct
import uuid
from enum import Enum


class ObjectKind(bytes, Enum):
    CONTENT = b"dvlt/v1/ctx"
    THUMBNAIL = b"dvlt/v1/thm"
    # A piece of a resumable upload not yet made into a paper: `document_id` is the upload's
    # id and `version` the piece's place in it (0 binds the upload's own key and metadata).
    UPLOAD = b"dvlt/v1/upl"


def object_context(
    kind: ObjectKind, *, document_id: uuid.UUID, owner_id: uuid.UUID, version: int
) -> bytes:
    return kind.value + document_id.bytes + owner_id.bytes + struct.pack(">I", version)


def data_key_aad(
    kind: ObjectKind,
    *,
    kek_version: int,
    document_id: uuid.UUID,
    owner_id: uuid.UUID,
    version: int,
) -> bytes:
    return (
        b"dvlt/v1/dek"
        + kind.value
        + struct.pack(">I", kek_version)
        + document_id.bytes
        + owner_id.bytes
        + struct.pack(">I", version)
    )


def citizen_key_aad(*, citizen_id: uuid.UUID, kek_version: int, master_version: int) -> bytes:
    return (
        b"dvlt/v1/kek"
        + citizen_id.bytes
        + struct.pack(">I", kek_version)
        + struct.pack(">I", master_version)
    )


def index_key_aad(*, purpose: bytes, master_version: int) -> bytes:
    return b"dvlt/v1/index-key" + struct.pack(">I", master_version) + purpose


def metadata_aad(*, document_id: uuid.UUID, owner_id: uuid.UUID, version: int) -> bytes:
    return b"dvlt/v1/meta" + document_id.bytes + owner_id.bytes + struct.pack(">I", version)


def profile_aad(*, citizen_id: uuid.UUID) -> bytes:
    return b"dvlt/v1/profile" + citizen_id.bytes


def national_id_aad(*, citizen_id: uuid.UUID) -> bytes:
    return b"dvlt/v1/national-id" + citizen_id.bytes


def agency_key_aad(*, key_id: str, agency_id: uuid.UUID, master_version: int) -> bytes:
    """An agency's private key opens only as that key of that agency."""
    return (
        b"dvlt/v1/agency-key"
        + agency_id.bytes
        + struct.pack(">I", master_version)
        + key_id.encode()
    )


def signing_key_aad(*, key_id: str, master_version: int) -> bytes:
    """The audit log's signing key opens only as that key, under that master version."""
    return b"dvlt/v1/audit-signing-key" + struct.pack(">I", master_version) + key_id.encode()
