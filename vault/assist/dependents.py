"""A parent keeps a child's papers: the child's own vault, kept through a delegation.

The child's vault is an ordinary account (its own citizen key, its profile sealed as anyone's)
with no usable password (`logins.NO_PASSWORD`), until the child claims it at the counter with a
password reset. The parent holds it through a guardian delegation with every scope, which ends
on the child's 18th birthday; the parent works in it with acting sessions like any delegate, so
the child's audit chain names the parent for everything done. Both parents may hold it, each
through their own delegation and their own birth certificate.

What the birth certificate proves, without reading its image: it is one of the parent's own
papers (another's is not found), of type `GKS`, and not already shown for another child (a
certificate names one child). When the number recorded with the paper is a 12-digit personal
identification number — new-form certificates print the child's — it must be this child's;
an older certificate's registration number is not compared. An officer who issues the
certificate into the vault makes it stronger, but that is not required.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import Session, col, select

from vault import audit, documents
from vault.accounts import citizens, logins, national_id
from vault.accounts.models import Citizen
from vault.assist import delegations
from vault.assist.models import (
    Delegation,
    DelegationKind,
    DelegationStatus,
    DependentVault,
    Guardianship,
    Kinship,
)
from vault.blobs.backend import Backend
from vault.catalog.document_types import Trust
from vault.keys import Keyring
from vault.kit import days
from vault.kit.errors import Conflict, InvalidInput, TooManyAttempts, VaultError
from vault.notices import texts
from vault.notices.inbox import Notice

BIRTH_CERTIFICATE = "GKS"
ADULT_AGE = 18
MAX_GUARDIANS = 2
TRUSTED = (Trust.ISSUED, Trust.CERTIFIED)
# Attempts to join a child's vault a parent makes, whatever comes of them, in a day.
JOIN_POLICY = logins.ThrottlePolicy(
    account_failures=5, window=timedelta(days=1), block=timedelta(days=1)
)


@dataclass(frozen=True)
class DependentView:
    child: Citizen
    full_name: str
    date_of_birth: date | None
    guardianship: Guardianship
    delegation: Delegation

    @property
    def status(self) -> DelegationStatus:
        return delegations.status_of(self.delegation)

    @property
    def claimed(self) -> bool:
        """Whether the child has a password of their own (set at the counter)."""
        return _claimed(self.child)

    @property
    def adult_on(self) -> date:
        return self.delegation.expires_on + timedelta(days=1)


@dataclass(frozen=True)
class JoinAttempt:
    """One attempt to join a child's vault, counted by `count_join`."""

    counted: logins.Attempt
    child_id: uuid.UUID


def adult_on(born: date) -> date:
    """The 18th birthday; for 29 February, 1 March of a common year."""
    try:
        return born.replace(year=born.year + ADULT_AGE)
    except ValueError:
        return date(born.year + ADULT_AGE, 3, 1)


def count_join(
    session: Session, keyring: Keyring, parent: Citizen, *, national_id_number: str
) -> JoinAttempt | None:
    """Count an attempt to join the vault of the child with this number, when there is one
    to join, in a unit of work of the caller's own committed before anything is checked: the
    count holds when the attempt is refused and its request rolls back, and parallel guesses
    cannot outrun it. A parent over `JOIN_POLICY` is refused here (TooManyAttempts). None
    when no child's vault has this number (opening one is not counted)."""
    number = national_id.validate(national_id_number)
    child = citizens.by_national_id(session, keyring, number)
    if child is None or session.get(DependentVault, child.id) is None:
        return None
    try:
        counted = logins.Attempt(
            session, account=f"guardian-join:{parent.id}", client=None, policy=JOIN_POLICY
        )
    except TooManyAttempts as blocked:
        raise TooManyAttempts(
            "Too many attempts to join a child's vault today; try again tomorrow.",
            retry_after=blocked.retry_after,
            reason="guardian-join",
        ) from None
    return JoinAttempt(counted, child.id)


def add(
    session: Session,
    backend: Backend,
    parent: Citizen,
    *,
    national_id_number: str,
    full_name: str,
    date_of_birth: date,
    relationship: str,
    birth_certificate_id: uuid.UUID,
    attempt: JoinAttempt | None,
) -> DependentView:
    """The child's vault, opened now or joined when the other parent opened it, and this
    parent's delegation to it. `attempt` is `count_join`'s, made for the same number: a
    refused one is audited in the child's chain, one that succeeds is forgiven."""
    try:
        view = _add(
            session,
            backend,
            parent,
            national_id_number=national_id_number,
            full_name=full_name,
            date_of_birth=date_of_birth,
            relationship=relationship,
            birth_certificate_id=birth_certificate_id,
            attempt=attempt,
        )
    except VaultError as refused:
        if attempt is not None:
            attempt.counted.failed(
                session,
                audit.Event(
                    "dependent.join_refused",
                    subject=attempt.child_id,
                    actor_type="citizen",
                    actor_id=str(parent.id),
                    outcome=audit.Outcome.DENIED,
                    reason=_why(refused),
                ),
            )
        raise
    if attempt is not None:
        attempt.counted.succeeded(session)
    return view


def _add(
    session: Session,
    backend: Backend,
    parent: Citizen,
    *,
    national_id_number: str,
    full_name: str,
    date_of_birth: date,
    relationship: str,
    birth_certificate_id: uuid.UUID,
    attempt: JoinAttempt | None,
) -> DependentView:
    keyring = backend.keyring
    number = national_id.validate(national_id_number)
    kinship = _kinship(relationship)
    today = days.today()
    if date_of_birth > today:
        raise InvalidInput("The birth date lies in the future.", field="date_of_birth")
    if date_of_birth.year != national_id.birth_year(number):
        raise InvalidInput(
            "This birth date does not match the year in the identification number.",
            field="date_of_birth",
        )
    if adult_on(date_of_birth) <= today:
        raise InvalidInput(
            "The child is 18 or older: they open their own vault.",
            field="date_of_birth",
            reason="adult-child",
        )
    child = citizens.by_national_id(session, keyring, number)
    if child is None:
        certificate = _birth_certificate(session, backend, parent, birth_certificate_id, number)
        child = citizens.register(
            session, keyring, national_id_number=number, full_name=full_name, password=None
        )
        citizens.update_profile(session, keyring, child, {"date_of_birth": date_of_birth})
        session.add(DependentVault(citizen_id=child.id))
        session.flush()
        others: list[uuid.UUID] = []
    else:
        certificate = _join(
            session, backend, parent, child, number, date_of_birth, birth_certificate_id, attempt
        )
        others = _guardians(session, child)
    row = delegations.create_active(
        session,
        citizen_id=child.id,
        delegate_id=parent.id,
        last_day=adult_on(date_of_birth) - timedelta(days=1),
        kind=DelegationKind.GUARDIAN,
    )
    link = Guardianship(
        child_id=child.id,
        guardian_id=parent.id,
        delegation_id=row.id,
        relationship=kinship,
        birth_certificate_id=certificate.id,
    )
    session.add(link)
    session.flush()
    audit.append(
        session,
        audit.Event(
            "dependent.add",
            subject=child.id,
            actor_type="delegate",
            actor_id=str(parent.id),
            details={
                "delegation": str(row.id),
                "relationship": kinship.value,
                "joined": bool(others),
            },
        ),
    )
    profile = citizens.profile(session, keyring, child)
    if others:
        joiner = citizens.profile(session, keyring, parent).full_name
        notice = texts.guardian_joined(link.id, profile.full_name, joiner, kinship.value)
        for guardian_id in others:
            citizens.announce(session, keyring, guardian_id, notice)
    return DependentView(child, profile.full_name, profile.date_of_birth, link, row)


def _kinship(value: str) -> Kinship:
    try:
        return Kinship(value)
    except ValueError:
        known = ", ".join(k.value for k in Kinship)
        raise InvalidInput(f"The relationship is one of: {known}.", field="relationship") from None


def _claimed(child: Citizen) -> bool:
    return child.password_hash != logins.NO_PASSWORD


def told_to_guardians(
    session: Session, keyring: Keyring, notices: list[tuple[uuid.UUID, Notice]]
) -> list[list[tuple[uuid.UUID, Notice]]]:
    """Each reminder with its copies for the guardians holding the vault it is about (a live
    guardian delegation), announced together: a child's vault has no address of its own, and
    its guardians are the ones who renew the child's papers."""
    owners = sorted({owner for owner, _ in notices})
    guardians: dict[uuid.UUID, list[uuid.UUID]] = {}
    for start in range(0, len(owners), 500):
        rows = session.exec(
            select(Guardianship.child_id, Guardianship.guardian_id, Delegation)
            .join(Delegation, col(Delegation.id) == Guardianship.delegation_id)
            .where(col(Guardianship.child_id).in_(owners[start : start + 500]))
        ).all()
        for child_id, guardian_id, delegation in rows:
            if delegations.status_of(delegation) == DelegationStatus.ACTIVE:
                guardians.setdefault(child_id, []).append(guardian_id)
    names = {
        child_id: citizens.profile(session, keyring, session.get_one(Citizen, child_id)).full_name
        for child_id in guardians
    }
    return [
        [
            (owner, notice),
            *(
                (guardian_id, texts.about_child(notice, owner, names[owner]))
                for guardian_id in guardians.get(owner, [])
            ),
        ]
        for owner, notice in notices
    ]


def _guardians(session: Session, child: Citizen) -> list[uuid.UUID]:
    return list(
        session.exec(select(Guardianship.guardian_id).where(Guardianship.child_id == child.id))
    )


def _birth_certificate(
    session: Session, backend: Backend, parent: Citizen, document_id: uuid.UUID, number: str
) -> documents.DocumentView:
    paper = documents.view(session, backend, owner=parent, document_id=document_id)
    if paper.doc_type != BIRTH_CERTIFICATE:
        raise InvalidInput(
            "Show a birth certificate (GKS) from your papers.", field="birth_certificate_id"
        )
    if paper.trust not in TRUSTED:
        raise InvalidInput(
            "This birth certificate is a scan of your own: have it certified at the counter "
            "(an officer compares it with the original), or issued into your vault by the "
            "agency that registered the birth, then show it again.",
            field="birth_certificate_id",
            reason="certificate-not-certified",
        )
    if (paper.number or "").replace(" ", "") != number:
        raise InvalidInput(
            "The number recorded with this birth certificate must be the child's 12-digit "
            "personal identification number.",
            field="birth_certificate_id",
            reason="certificate-other-child",
        )
    used = session.exec(
        select(Guardianship.id).where(Guardianship.birth_certificate_id == paper.id)
    ).first()
    if used is not None:
        raise Conflict("This birth certificate was already shown for a child.")
    return paper


def _join(
    session: Session,
    backend: Backend,
    parent: Citizen,
    child: Citizen,
    number: str,
    born: date,
    document_id: uuid.UUID,
    attempt: JoinAttempt | None,
) -> documents.DocumentView:
    """A second parent joins a dependent's vault; never an adult's own account, never one
    the child has claimed, never as a third. Counted by `count_join`."""
    if session.get(DependentVault, child.id) is None:
        raise Conflict(
            "This personal identification number has its own account; a parent cannot take it over."
        )
    if attempt is None or attempt.child_id != child.id:
        # The vault was opened while this request was on its way.
        raise Conflict("This child's vault was opened a moment ago; try again.")
    paper = _birth_certificate(session, backend, parent, document_id, number)
    _joinable(session, backend.keyring, parent, child, born)
    return paper


def _joinable(
    session: Session, keyring: Keyring, parent: Citizen, child: Citizen, born: date
) -> None:
    holders = _guardians(session, child)
    if parent.id in holders:
        raise Conflict("You already keep this child's vault.")
    if citizens.profile(session, keyring, child).date_of_birth != born:
        raise InvalidInput(
            "This birth date is not the one of this child's vault.",
            field="date_of_birth",
            reason="join-birth-date",
        )
    if _claimed(child):
        raise Conflict("The child has claimed this vault: nobody else can join it.")
    if len(holders) >= MAX_GUARDIANS:
        raise Conflict(f"A child's vault is kept by {MAX_GUARDIANS} guardians at most.")


def _why(refused: VaultError) -> str:
    reason = getattr(refused, "reason", None) or getattr(refused, "field", None)
    return str(reason or type(refused).__name__)


def list_for(session: Session, keyring: Keyring, parent: Citizen) -> list[DependentView]:
    """The parent's children, youngest first (held, and once held)."""
    rows = session.exec(
        select(Guardianship, Delegation, Citizen)
        .join(Delegation, col(Delegation.id) == Guardianship.delegation_id)
        .join(Citizen, col(Citizen.id) == Guardianship.child_id)
        .where(Guardianship.guardian_id == parent.id)
        .order_by(col(Delegation.expires_on).desc())
    ).all()
    found = []
    for link, row, child in rows:
        profile = citizens.profile(session, keyring, child)
        found.append(DependentView(child, profile.full_name, profile.date_of_birth, link, row))
    return found
