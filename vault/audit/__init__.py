"""The tamper-evident audit log: one hash chain per citizen, verification, signed anchors.

Owns the `audit_event` table. May import `db`, `crypto` and `kit` only: every domain writes
to the log, so the log knows none of them."""

from vault.audit.log import (
    DOMAIN,
    GENESIS,
    SYSTEM,
    Actor,
    Break,
    Event,
    Template,
    Verification,
    act_for,
    acting,
    append,
    append_after_refusal,
    append_apart,
    append_many,
    chain_of,
    entry_hash,
    insert_many,
    template,
    verify,
)
from vault.audit.models import Outcome

__all__ = [
    "DOMAIN",
    "GENESIS",
    "SYSTEM",
    "Outcome",
    "Actor",
    "Break",
    "Event",
    "Template",
    "Verification",
    "act_for",
    "acting",
    "append",
    "append_apart",
    "append_after_refusal",
    "append_many",
    "chain_of",
    "entry_hash",
    "insert_many",
    "template",
    "verify",
]
