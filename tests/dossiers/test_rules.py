"""Which stored paper a requirement takes, and the reason given when none qualifies."""

import uuid
from datetime import date, datetime, timedelta

from vault.catalog.document_types import Trust
from vault.catalog.procedures import Requirement
from vault.documents.models import Document, DocumentVersion
from vault.dossiers import rules
from vault.dossiers.models import AttachmentReason

TODAY = date(2026, 11, 25)


def candidate(
    *,
    trust: Trust = Trust.SELF_SCAN,
    issued: date | None = None,
    expires: date | None = None,
    age: int = 0,
) -> rules.Candidate:
    document = Document(id=uuid.uuid4(), owner_id=uuid.uuid4(), doc_type="XNTTHN")
    version = DocumentVersion(
        document_id=document.id,
        version=1,
        object_key="k",
        kek_version=1,
        wrapped_dek=b"",
        content_type="application/pdf",
        size=1,
        pages=1,
        trust=trust,
        issued_on=issued,
        expires_on=expires,
        sealed_metadata=b"",
        created_at=datetime(2026, 1, 1) + timedelta(days=age),
    )
    return rules.Candidate(document, version)


def test_nothing_stored() -> None:
    outcome = rules.choose(Requirement(doc_type="XNTTHN"), [], TODAY)
    assert outcome == rules.Missing("XNTTHN", AttachmentReason.NONE_STORED, True)


def test_issued_beats_certified_beats_newest() -> None:
    newest = candidate(age=300)
    certified = candidate(trust=Trust.CERTIFIED, age=10)
    issued = candidate(trust=Trust.ISSUED, age=1)
    assert (
        rules.choose(Requirement(doc_type="XNTTHN"), [newest, certified, issued], TODAY) is issued
    )
    assert rules.choose(Requirement(doc_type="XNTTHN"), [newest, certified], TODAY) is certified
    older = candidate(age=5)
    assert rules.choose(Requirement(doc_type="XNTTHN"), [older, newest], TODAY) is newest


def test_expired_on_the_day_is_not_attached_but_expiring_today_is() -> None:
    requirement = Requirement(doc_type="XNTTHN")
    gone = candidate(expires=TODAY - timedelta(days=1))
    last_day = candidate(expires=TODAY)
    assert rules.choose(requirement, [gone], TODAY) == rules.Missing(
        "XNTTHN", AttachmentReason.EXPIRED, True
    )
    assert rules.choose(requirement, [gone, last_day], TODAY) is last_day


def test_freshness_needs_a_recent_issue_date() -> None:
    requirement = Requirement(doc_type="XNTTHN", max_age_days=180)
    assert (
        rules.choose(requirement, [candidate(issued=TODAY - timedelta(days=181))], TODAY).reason
        == AttachmentReason.TOO_OLD
    )  # type: ignore[union-attr]
    assert (
        rules.choose(requirement, [candidate(issued=None)], TODAY).reason
        == AttachmentReason.TOO_OLD
    )  # type: ignore[union-attr]
    fresh = candidate(issued=TODAY - timedelta(days=180))
    assert rules.choose(requirement, [fresh], TODAY) is fresh


def test_trust_level_and_the_reason_of_the_closest_candidate() -> None:
    requirement = Requirement(doc_type="XNTTHN", min_trust=Trust.CERTIFIED, max_age_days=30)
    scan = candidate(issued=TODAY)
    outcome = rules.choose(
        requirement,
        [scan, candidate(trust=Trust.CERTIFIED, expires=TODAY - timedelta(days=3))],
        TODAY,
    )
    assert outcome == rules.Missing("XNTTHN", AttachmentReason.TRUST_TOO_LOW, True)
    assert "certified" in outcome.detail  # type: ignore[union-attr]
