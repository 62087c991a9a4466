"""Writes dvlt_v1.json, the fixed DVLT v1 vectors that tests/crypto/test_vectors.py checks.

The vectors pin the on-disk format: every stored object was written in it, so a
change in their bytes means existing documents no longer open. Do not regenerate
them to make a failing test pass. A new format gets a new version byte and its
own vectors; this file then stays as the record of v1.

They were first made from the implementation as it stood before `update` stopped
being a generator (commit ef6dea7, its randomness patched in), and this script
reproduces them byte for byte through `Encryptor`'s test-only `_salt` and
`_nonce_prefix`. Run from the repository root:

    PYTHONPATH=. python tests/crypto/vectors/make_dvlt_v1.py
"""

import json
import uuid
from pathlib import Path

from vault.crypto import Encryptor, ObjectKind, object_context

CHUNK_EXP = 16  # the smallest a reader accepts, so the vectors stay small
CHUNK = 1 << CHUNK_EXP
KEY = bytes(range(32))
DOCUMENT_ID = uuid.UUID("00112233-4455-6677-8899-aabbccddeeff")
OWNER_ID = uuid.UUID("ffeeddcc-bbaa-9988-7766-554433221100")
CONTEXT = object_context(ObjectKind.CONTENT, document_id=DOCUMENT_ID, owner_id=OWNER_ID, version=1)
SALT = bytes(range(0x20, 0x40))
NONCE_PREFIX = bytes(range(0x40, 0x47))
SIZES = {
    "empty": 0,
    "one byte": 1,
    "one full chunk": CHUNK,
    "one chunk and one byte": CHUNK + 1,
    "three chunks": 2 * CHUNK + 7,
}


def plaintext(size: int) -> bytes:
    return (bytes(range(251)) * (size // 251 + 1))[:size]


def encrypt(data: bytes) -> bytes:
    encryptor = Encryptor(
        KEY,
        object_id=DOCUMENT_ID.bytes,
        context=CONTEXT,
        chunk_exp=CHUNK_EXP,
        _salt=SALT,
        _nonce_prefix=NONCE_PREFIX,
    )
    return encryptor.header + encryptor.update(data) + encryptor.finalize()


def vectors() -> dict[str, object]:
    return {
        "format": "DVLT v1, as described in SECURITY.md and vault/crypto/stream.py",
        "made_by": "tests/crypto/vectors/make_dvlt_v1.py",
        "plaintext": "byte i of a plaintext of plaintext_size bytes is i mod 251",
        "chunk_exp": CHUNK_EXP,
        "key": KEY.hex(),
        "object_id": DOCUMENT_ID.bytes.hex(),
        "context": CONTEXT.hex(),
        "salt": SALT.hex(),
        "nonce_prefix": NONCE_PREFIX.hex(),
        "vectors": [
            {"name": name, "plaintext_size": size, "ciphertext": encrypt(plaintext(size)).hex()}
            for name, size in SIZES.items()
        ],
    }


if __name__ == "__main__":
    target = Path(__file__).with_name("dvlt_v1.json")
    target.write_text(json.dumps(vectors(), indent=2) + "\n")
