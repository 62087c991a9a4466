"""Small authenticated boxes: wrapped keys and sealed metadata.

`box = VERSION ‖ nonce(12) ‖ AES-256-GCM(key, nonce, plaintext, aad)`. Random
nonces are safe here because each key seals few messages (one key per citizen
or per document version).
"""

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from vault.crypto.errors import IntegrityError

VERSION = b"\x01"
NONCE_SIZE = 12
KEY_SIZE = 32


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def seal(key: bytes, plaintext: bytes, *, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_SIZE)
    return VERSION + nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def open_box(key: bytes, box: bytes, *, aad: bytes) -> bytes:
    if len(box) < 1 + NONCE_SIZE + 16 or box[:1] != VERSION:
        raise IntegrityError("unknown or truncated box")
    try:
        return AESGCM(key).decrypt(box[1 : 1 + NONCE_SIZE], box[1 + NONCE_SIZE :], aad)
    except InvalidTag:
        raise IntegrityError("box does not open under this key and context") from None


def subkey(key: bytes, label: bytes) -> bytes:
    """A key for one purpose, so that one secret never serves two algorithms."""
    return HKDF(algorithm=hashes.SHA256(), length=KEY_SIZE, salt=None, info=label).derive(key)
