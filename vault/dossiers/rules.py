"""Which stored paper a dossier can reuse for a requirement, and if none, why not.

A paper is attachable when it is the current version of the citizen's paper of that type,
not expired on the day, issued recently enough for the procedure's freshness rule, and of at
least the trust level the procedure names. When several qualify: issued, then certified, then
the newest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from vault.catalog.procedures import TRUST_RANK, Requirement
from vault.documents.models import Document, DocumentVersion

NONE_STORED = "none_stored"
EXPIRED = "expired"
TOO_OLD = "too_old"
TRUST_TOO_LOW = "trust_too_low"
_EXPLAINED = {
    NONE_STORED: "No paper of this type is in the vault.",
    EXPIRED: "The paper in the vault has expired.",
    TOO_OLD: "The paper in the vault was issued too long ago for this procedure.",
    TRUST_TOO_LOW: "This procedure needs a certified or issued paper, not a self-made scan.",
}
# When no paper qualifies, the reason given is the one of the most promising candidate.
_CLOSENESS = {TRUST_TOO_LOW: 0, TOO_OLD: 1, EXPIRED: 2}


@dataclass(frozen=True)
class Candidate:
    document: Document
    version: DocumentVersion


@dataclass(frozen=True)
class Missing:
    doc_type: str
    reason: str
    required: bool

    @property
    def detail(self) -> str:
        return _EXPLAINED[self.reason]


def problem(requirement: Requirement, version: DocumentVersion, today: date) -> str | None:
    if version.expires_on is not None and version.expires_on < today:
        return EXPIRED
    if requirement.max_age_days is not None:
        limit = today - timedelta(days=requirement.max_age_days)
        if version.issued_on is None or version.issued_on < limit:
            return TOO_OLD
    if TRUST_RANK[version.trust] < TRUST_RANK[requirement.min_trust]:
        return TRUST_TOO_LOW
    return None


def choose(
    requirement: Requirement, candidates: list[Candidate], today: date
) -> Candidate | Missing:
    if not candidates:
        return Missing(requirement.doc_type, NONE_STORED, requirement.required)
    verdicts = [
        (candidate, problem(requirement, candidate.version, today)) for candidate in candidates
    ]
    good = [candidate for candidate, reason in verdicts if reason is None]
    if good:
        return max(good, key=lambda c: (TRUST_RANK[c.version.trust], c.version.created_at))
    reason = min((reason for _, reason in verdicts if reason), key=_CLOSENESS.__getitem__)
    return Missing(requirement.doc_type, reason, requirement.required)
