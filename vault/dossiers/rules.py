"""Which stored paper a dossier can reuse for a requirement, and if none, why not.

A paper is attachable when it is the current version of the citizen's paper of that type,
not expired on the day, issued recently enough for the procedure's freshness rule, and of at
least the trust level the procedure names. When several qualify: issued, then certified, then
the newest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from vault.catalog.procedures import Requirement
from vault.documents.models import Document, DocumentVersion
from vault.dossiers.models import AttachmentReason

_EXPLAINED = {
    AttachmentReason.NONE_STORED: "No paper of this type is in the vault.",
    AttachmentReason.EXPIRED: "The paper in the vault has expired.",
    AttachmentReason.TOO_OLD: "The paper in the vault was issued too long ago for this procedure.",
    AttachmentReason.TRUST_TOO_LOW: (
        "This procedure needs a certified or issued paper, not a self-made scan."
    ),
}
# When no paper qualifies, the reason given is the one of the most promising candidate.
_CLOSENESS = {
    AttachmentReason.TRUST_TOO_LOW: 0,
    AttachmentReason.TOO_OLD: 1,
    AttachmentReason.EXPIRED: 2,
}


@dataclass(frozen=True)
class Candidate:
    document: Document
    version: DocumentVersion


@dataclass(frozen=True)
class Missing:
    doc_type: str
    reason: AttachmentReason
    required: bool

    @property
    def detail(self) -> str:
        return _EXPLAINED[self.reason]


def problem(
    requirement: Requirement, version: DocumentVersion, today: date
) -> AttachmentReason | None:
    if version.expires_on is not None and version.expires_on < today:
        return AttachmentReason.EXPIRED
    if requirement.max_age_days is not None:
        limit = today - timedelta(days=requirement.max_age_days)
        if version.issued_on is None or version.issued_on < limit:
            return AttachmentReason.TOO_OLD
    if version.trust.rank < requirement.min_trust.rank:
        return AttachmentReason.TRUST_TOO_LOW
    return None


def choose(
    requirement: Requirement, candidates: list[Candidate], today: date
) -> Candidate | Missing:
    if not candidates:
        return Missing(requirement.doc_type, AttachmentReason.NONE_STORED, requirement.required)
    verdicts = [
        (candidate, problem(requirement, candidate.version, today)) for candidate in candidates
    ]
    good = [candidate for candidate, reason in verdicts if reason is None]
    if good:
        return max(good, key=lambda c: (c.version.trust.rank, c.version.created_at))
    reason = min((reason for _, reason in verdicts if reason), key=_CLOSENESS.__getitem__)
    return Missing(requirement.doc_type, reason, requirement.required)
