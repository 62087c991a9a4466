"""Encryption primitives of the vault. Knows bytes, keys and contexts; nothing of HTTP or tables."""

from vault.crypto.aead import new_key, open_box, seal, subkey
from vault.crypto.contexts import (
    ObjectKind,
    agency_key_aad,
    citizen_key_aad,
    data_key_aad,
    index_key_aad,
    metadata_aad,
    national_id_aad,
    object_context,
    profile_aad,
    signing_key_aad,
)
from vault.crypto.errors import IntegrityError, StreamStateError
from vault.crypto.masterkeys import MasterKeyError, MasterKeys
from vault.crypto.stream import (
    CHUNK_SIZE,
    HEADER_SIZE,
    TAG_SIZE,
    Decryptor,
    Encryptor,
    SeekablePlaintext,
    SizedReader,
    SpanSealer,
    ciphertext_size,
    encrypt_bytes,
    read_exact,
)
from vault.crypto.tokens import derive_token, hash_token, new_token

__all__ = [
    "CHUNK_SIZE",
    "HEADER_SIZE",
    "TAG_SIZE",
    "Decryptor",
    "Encryptor",
    "IntegrityError",
    "MasterKeyError",
    "MasterKeys",
    "ObjectKind",
    "SeekablePlaintext",
    "SizedReader",
    "SpanSealer",
    "StreamStateError",
    "agency_key_aad",
    "citizen_key_aad",
    "ciphertext_size",
    "data_key_aad",
    "derive_token",
    "encrypt_bytes",
    "hash_token",
    "index_key_aad",
    "metadata_aad",
    "national_id_aad",
    "new_key",
    "new_token",
    "object_context",
    "open_box",
    "profile_aad",
    "read_exact",
    "seal",
    "signing_key_aad",
    "subkey",
]
