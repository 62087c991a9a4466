"""Devices a citizen logs in from: a login from a new one is announced to them, so that a
stolen password shows in the inbox (and by email, SMS) the moment it is used."""

from __future__ import annotations

import hashlib
import re

from sqlmodel import Session, select

from vault import db
from vault.accounts.models import Citizen, KnownDevice
from vault.notices import texts
from vault.notices.inbox import Notice

_BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Zalo", "Zalo"),
    ("CocCoc", "Cốc Cốc"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
)


def note_login(session: Session, citizen: Citizen, user_agent: str) -> Notice | None:
    """Remember the device; the notice to announce if the account had logged in from others
    before (the first device of an account is the citizen's own sign-up)."""
    key = hashlib.sha256(citizen.id.bytes + user_agent.encode()).hexdigest()
    if session.get(KnownDevice, (citizen.id, key)) is not None:
        return None
    seen_before = session.exec(
        select(KnownDevice.device_key).where(KnownDevice.citizen_id == citizen.id)
    ).first()
    session.add(KnownDevice(citizen_id=citizen.id, device_key=key))
    session.flush()
    if seen_before is None:
        return None
    return texts.new_login(key, db.utc_now(), describe(user_agent))


def describe(user_agent: str) -> str:
    """A browser and a system a person recognises ("Chrome trên Android"), not the header."""
    browser = next((name for token, name in _BROWSERS if token in user_agent), None)
    system = next((name for token, name in _SYSTEMS if token in user_agent), None)
    if browser and system:
        return f"{browser} trên {system}"
    if browser or system:
        return browser or system or ""
    product = re.match(r"[A-Za-z][A-Za-z0-9._-]{0,30}", user_agent)
    return product.group(0) if product else "không rõ"
