"""Which agency an API bearer token was issued to, remembered by the token's hash.

A token's row never changes hands: for as long as it exists its hash names one agency, so that
much is safe to remember and spares the agency's plain download a query of its own. Whether
the token still holds (not expired, not deleted by a rotated secret or a disabled agency, the
agency not disabled) is never remembered: the statement that serves the download checks it
again (`holds`, vault.sharing.checked), so a revoked token is refused from the very
next request. Only hashes are kept, as the database keeps them; never a token.
"""

from __future__ import annotations

import threading
import uuid
from datetime import datetime

from sqlalchemy import ColumnElement, Engine, select
from sqlmodel import col

from vault import db
from vault.agencies.models import Agency, AgencyToken

# Tokens live minutes; a few thousand covers every agency system a process serves at once.
_KEPT = 4096


def holds(at: ColumnElement[datetime] | datetime) -> list[ColumnElement[bool]]:
    """What a statement joining `agency_token` and its `agency` requires of them for the token
    to authenticate at `at`: an agency's API token (never an officer's web session), not
    expired, of an agency not disabled. (The PostgreSQL download statement says the same in
    its own SQL: vault.sharing.checked.)"""
    return [
        col(AgencyToken.officer_id).is_(None),
        col(AgencyToken.expires_at) > at,
        col(Agency.disabled_at).is_(None),
    ]


class Bearers:
    """Token hash → agency id, for the tokens that authenticated here lately."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: dict[str, uuid.UUID] = {}

    def agency_of(self, engine: Engine, token_hash: str) -> uuid.UUID | None:
        """The agency the token was issued to; a token not yet known here is looked up, and
        remembered only if it holds now. None: no valid agency API token has this hash."""
        known = self._known.get(token_hash)
        if known is not None:
            return known
        with engine.connect() as connection:
            found = connection.execute(
                select(col(AgencyToken.agency_id))
                .join(Agency, col(Agency.id) == AgencyToken.agency_id)
                .where(col(AgencyToken.token_hash) == token_hash, *holds(db.utc_now()))
            ).scalar_one_or_none()
        if found is not None:
            with self._lock:
                if len(self._known) >= _KEPT:
                    del self._known[next(iter(self._known))]
                self._known[token_hash] = found
        return found
