"""Detached signatures of issued papers: Ed25519, or ECDSA on P-256, over the paper's SHA-256.

The 2023 Law on E-Transactions (Art. 12) gives a converted paper legal value only with the
converting agency's digital signature; the vault checks it at deposit and keeps it, with the
public key as it then was, so that anyone holding the paper can check it again later.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

ED25519 = "ed25519"
ECDSA_P256 = "ecdsa-p256-sha256"


class SigningKeyError(Exception):
    """Not a public key the vault accepts for issued papers."""


def algorithm_of(public_key_pem: str) -> str:
    key = _load(public_key_pem)
    return ED25519 if isinstance(key, ed25519.Ed25519PublicKey) else ECDSA_P256


def _load(public_key_pem: str) -> ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey:
    try:
        key = serialization.load_pem_public_key(public_key_pem.encode())
    except (ValueError, TypeError):
        raise SigningKeyError("not a PEM public key") from None
    if isinstance(key, ed25519.Ed25519PublicKey):
        return key
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return key
    raise SigningKeyError("issued papers are signed with Ed25519 or ECDSA P-256 keys only")


def verify(public_key_pem: str, sha256: bytes, signature: bytes) -> bool:
    key = _load(public_key_pem)
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, sha256)
        else:
            key.verify(signature, sha256, ec.ECDSA(Prehashed(hashes.SHA256())))
    except InvalidSignature:
        return False
    return True


def generate() -> tuple[str, str]:
    """A new Ed25519 pair as (private PEM, public PEM)."""
    private = ed25519.Ed25519PrivateKey.generate()
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return private_pem, public_pem_of(private_pem)


def public_pem_of(private_key_pem: str) -> str:
    private = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    return (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def sign(private_key_pem: str, sha256: bytes) -> bytes:
    """What an issuing agency's system does; here for its tooling and the tests."""
    private = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    if isinstance(private, ed25519.Ed25519PrivateKey):
        return private.sign(sha256)
    if isinstance(private, ec.EllipticCurvePrivateKey):
        return private.sign(sha256, ec.ECDSA(Prehashed(hashes.SHA256())))
    raise SigningKeyError("issued papers are signed with Ed25519 or ECDSA P-256 keys only")
