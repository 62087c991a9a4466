"""Notice texts and addresses sealed under the citizen's key, each bound to its row."""

from __future__ import annotations

import uuid

from sqlmodel import Session

from vault import crypto
from vault.keys import Keyring


def seal(
    session: Session,
    keyring: Keyring,
    citizen_id: uuid.UUID,
    label: bytes,
    row: uuid.UUID,
    text: str,
) -> bytes:
    _, kek = keyring.citizen_key(session, citizen_id)
    return crypto.seal(crypto.subkey(kek, label), text.encode(), aad=row.bytes)


def unseal(
    session: Session,
    keyring: Keyring,
    citizen_id: uuid.UUID,
    label: bytes,
    row: uuid.UUID,
    box: bytes,
) -> str:
    _, kek = keyring.citizen_key(session, citizen_id)
    return crypto.open_box(crypto.subkey(kek, label), box, aad=row.bytes).decode()
