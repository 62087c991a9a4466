"""Signed statements: Ed25519 over exact bytes, with raw 32-byte keys.

A statement is signed as the bytes it is, never re-serialised before checking, so anyone
holding those bytes, the 64-byte signature and the raw public key can verify it with any
Ed25519 library (RFC 8032). Private keys leave this module only as raw 32-byte seeds, which
the caller keeps wrapped.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

ALGORITHM = "Ed25519"
_RAW = serialization.Encoding.Raw


def new_signing_key() -> bytes:
    """A new private key as its raw 32-byte seed."""
    return ed25519.Ed25519PrivateKey.generate().private_bytes(
        _RAW, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def public_key_of(private_key: bytes) -> bytes:
    return (
        ed25519.Ed25519PrivateKey.from_private_bytes(private_key)
        .public_key()
        .public_bytes(_RAW, serialization.PublicFormat.Raw)
    )


def sign(private_key: bytes, statement: bytes) -> bytes:
    return ed25519.Ed25519PrivateKey.from_private_bytes(private_key).sign(statement)


def verify(public_key: bytes, statement: bytes, signature: bytes) -> bool:
    try:
        ed25519.Ed25519PublicKey.from_public_bytes(public_key).verify(signature, statement)
    except (InvalidSignature, ValueError):
        return False
    return True


def raw_public_key(public_key_pem: str) -> bytes | None:
    """The raw 32 bytes of an Ed25519 public key in PEM; None for any other kind of key."""
    try:
        key = serialization.load_pem_public_key(public_key_pem.encode())
    except (ValueError, TypeError):
        return None
    if not isinstance(key, ed25519.Ed25519PublicKey):
        return None
    return key.public_bytes(_RAW, serialization.PublicFormat.Raw)
