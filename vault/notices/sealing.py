"""Notice texts and addresses sealed under the citizen's key, each bound to its row."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from sqlmodel import Session

from vault import crypto
from vault.keys import Keyring

ADDRESS_LABEL = b"dvlt/v1/notice-address"
DESTINATION_LABEL = b"dvlt/v1/delivery-to"


@dataclass(frozen=True)
class Destination:
    """Where one delivery goes: an email address, a phone for the gateway, or both (the
    citizen's own on the webhook, for the gateway to choose)."""

    email: str | None = None
    phone: str | None = None


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


def address(
    session: Session, keyring: Keyring, citizen_id: uuid.UUID, contact_id: uuid.UUID, box: bytes
) -> tuple[str, str | None]:
    """A contact's (address, helper's name): both are sealed together, a line each."""
    stored = unseal(session, keyring, citizen_id, ADDRESS_LABEL, contact_id, box)
    found, _, name = stored.partition("\n")
    return found, name or None


def seal_destination(
    session: Session,
    keyring: Keyring,
    citizen_id: uuid.UUID,
    delivery_id: uuid.UUID,
    to: Destination,
) -> bytes:
    text = json.dumps({"email": to.email, "phone": to.phone})
    return seal(session, keyring, citizen_id, DESTINATION_LABEL, delivery_id, text)


def destination(
    session: Session, keyring: Keyring, citizen_id: uuid.UUID, delivery_id: uuid.UUID, box: bytes
) -> Destination:
    opened = json.loads(unseal(session, keyring, citizen_id, DESTINATION_LABEL, delivery_id, box))
    return Destination(email=opened["email"], phone=opened["phone"])
