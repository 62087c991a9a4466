"""Receiving agencies: registration, client credentials, bearer tokens, signing keys.

Owns the `agency` and `agency_token` tables. May import `db`, `crypto` and `kit` only."""

from vault.agencies.bearers import Bearers, holds
from vault.agencies.registry import (
    LEVELS,
    Credentials,
    IssuedToken,
    active_by_code,
    agency_for_token,
    authenticate,
    by_code,
    create,
    disable,
    issue_token,
    list_all,
    rotate_secret,
    set_signing_key,
)

__all__ = [
    "LEVELS",
    "Bearers",
    "Credentials",
    "IssuedToken",
    "active_by_code",
    "agency_for_token",
    "authenticate",
    "by_code",
    "create",
    "disable",
    "holds",
    "issue_token",
    "list_all",
    "rotate_secret",
    "set_signing_key",
]
