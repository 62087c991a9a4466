"""National ID numbers at rest: found through a blind index, shown from a sealed copy, never
stored in clear.

A number has little entropy (province, century and sex, year of birth, six digits), so a plain
hash of it is reversed by enumeration in minutes. The index is HMAC-SHA-256 under a 256-bit
*index key* of its own: a stolen database without the master key gives nothing to enumerate
against.

The index key is random and kept wrapped under a master key version (table `index_key`), like a
citizen key, rather than derived from a master version on every use. A derived key would change
with every rotation: each row would have to be re-indexed, a lookup would have to try every
version while that runs, and no unique constraint could keep one account per number across two
versions. Wrapped, a rotation rewraps one row (`Keyring.rewrap`), its `master_version` tells
`vault keys retire` that the version is still needed, and the index values never change.
Replacing the index key itself, should it ever leak, is a re-index from the sealed numbers.

The number itself is sealed under a key derived from the citizen's own key and bound to the
citizen id, as the profile is: a copy moved onto another account does not open.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid

from vault import crypto
from vault.crypto import MasterKeys

PURPOSE = "national-id"
_SEALING_LABEL = b"dvlt/v1/national-id-key"


def index(key: bytes, number: bytes) -> bytes:
    return hmac.new(key, number, hashlib.sha256).digest()


def seal(kek: bytes, citizen_id: uuid.UUID, number: bytes) -> bytes:
    aad = crypto.national_id_aad(citizen_id=citizen_id)
    return crypto.seal(crypto.subkey(kek, _SEALING_LABEL), number, aad=aad)


def unseal(kek: bytes, citizen_id: uuid.UUID, box: bytes) -> bytes:
    aad = crypto.national_id_aad(citizen_id=citizen_id)
    return crypto.open_box(crypto.subkey(kek, _SEALING_LABEL), box, aad=aad)


def wrap_index_key(master: MasterKeys, version: int, key: bytes) -> bytes:
    return master.wrap(version, key, aad=_index_key_aad(version))


def unwrap_index_key(master: MasterKeys, version: int, box: bytes) -> bytes:
    return master.unwrap(version, box, aad=_index_key_aad(version))


def _index_key_aad(version: int) -> bytes:
    return crypto.index_key_aad(purpose=PURPOSE.encode(), master_version=version)
