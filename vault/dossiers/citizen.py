"""The citizen's side of a dossier: start it with every paper the vault already holds, add only
what is missing, fill the form the vault could not prefill, submit, withdraw."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date

from sqlalchemy import delete
from sqlmodel import Session, col, select

from vault import agencies, db, documents
from vault.accounts import citizens
from vault.accounts.models import Citizen
from vault.blobs.backend import Backend
from vault.catalog import procedures
from vault.catalog.procedures import ProcedureSpec
from vault.documents import uploads
from vault.documents.models import Document
from vault.dossiers import rules, workflow
from vault.dossiers.models import AttachmentReason, Dossier, DossierAttachment, DossierStatus
from vault.dossiers.workflow import DossierView
from vault.kit import days, text
from vault.kit.errors import Conflict, InvalidInput, NotFound
from vault.sharing import grants

_PURPOSE = "Hồ sơ {name} (mã hồ sơ {short})"


class Incomplete(Conflict):
    """Submission refused: the papers or fields still missing are listed."""

    def __init__(self, missing: list[rules.Missing], fields: list[str]) -> None:
        super().__init__("The dossier is not complete; add what is listed and submit again.")
        self.missing = missing
        self.fields = fields

    @property
    def members(self) -> dict[str, object]:
        papers = [
            {"doc_type": m.doc_type, "reason": m.reason, "detail": m.detail} for m in self.missing
        ]
        return {"missing": papers, "missing_fields": self.fields}


def create(
    session: Session, backend: Backend, *, owner: Citizen, procedure_code: str, agency_code: str
) -> DossierView:
    try:
        spec = procedures.get(session, procedure_code)
    except NotFound as unknown:
        raise InvalidInput(unknown.detail, field="procedure") from None
    agency = agencies.active_by_code(session, agency_code)
    if agency.level != spec.agency_level:
        raise InvalidInput(
            f"{spec.name} is handled by a {spec.agency_level}-level agency; "
            f"{agency.name} is {agency.level}-level.",
            field="agency",
        )
    dossier = Dossier(
        citizen_id=owner.id,
        procedure_code=spec.code,
        agency_id=agency.id,
        status=DossierStatus.DRAFT,
        sealed_form=b"",
    )
    chosen, missing = _auto_attach(session, owner, spec, days.today())
    workflow.save_form(session, backend, dossier, _prefill(session, backend, owner, spec, chosen))
    # The dossier's row first: nothing tells the flush that its attachments depend on it, and
    # rows added together were sometimes inserted children first (a foreign-key violation).
    session.add(dossier)
    session.flush()
    for doc_type, candidate in chosen.items():
        session.add(_attachment(dossier, doc_type, candidate, reused=True))
    for lacking in missing:
        session.add(_lacking(dossier, lacking.doc_type, lacking.reason))
    session.flush()
    workflow.move(session, backend, dossier, DossierStatus.DRAFT, actor=("citizen", str(owner.id)))
    return workflow.describe(session, backend, dossier, missing)


def _auto_attach(
    session: Session, owner: Citizen, spec: ProcedureSpec, today: date
) -> tuple[dict[str, rules.Candidate], list[rules.Missing]]:
    """One indexed query for every paper of the procedure's types, then the rules in memory."""
    wanted = [r.doc_type for r in spec.requirements]
    rows = session.exec(
        documents.current_versions_of(owner).where(col(Document.doc_type).in_(wanted))
    ).all()
    by_type: dict[str, list[rules.Candidate]] = {t: [] for t in wanted}
    for document, version in rows:
        by_type[document.doc_type].append(rules.Candidate(document, version))
    chosen: dict[str, rules.Candidate] = {}
    missing: list[rules.Missing] = []
    for requirement in spec.requirements:
        outcome = rules.choose(requirement, by_type[requirement.doc_type], today)
        if isinstance(outcome, rules.Missing):
            missing.append(outcome)
        else:
            chosen[requirement.doc_type] = outcome
    return chosen, missing


def _attachment(
    dossier: Dossier, doc_type: str, candidate: rules.Candidate, *, reused: bool
) -> DossierAttachment:
    return DossierAttachment(
        dossier_id=dossier.id,
        doc_type=doc_type,
        document_id=candidate.document.id,
        version=candidate.version.version,
        reused=reused,
    )


def _lacking(dossier: Dossier, doc_type: str, reason: AttachmentReason) -> DossierAttachment:
    return DossierAttachment(dossier_id=dossier.id, doc_type=doc_type, reason=reason)


def _prefill(
    session: Session,
    backend: Backend,
    owner: Citizen,
    spec: ProcedureSpec,
    chosen: dict[str, rules.Candidate],
) -> dict[str, str | None]:
    """Every field whose answer the vault already knows: the profile and the attached papers."""
    profile = citizens.profile(session, backend.keyring, owner)
    known: dict[str, str | None] = {
        "profile.full_name": profile.full_name,
        "profile.national_id": citizens.national_id_of(session, backend.keyring, owner),
        "profile.date_of_birth": profile.date_of_birth.isoformat()
        if profile.date_of_birth
        else None,
        "profile.phone": profile.phone,
        "profile.address": profile.address,
    }
    for doc_type, candidate in chosen.items():
        paper = documents.describe(session, backend, candidate.document, candidate.version)
        known[f"paper.{doc_type}.number"] = paper.number
        known[f"paper.{doc_type}.issued_on"] = (
            paper.issued_on.isoformat() if paper.issued_on else None
        )
        known[f"paper.{doc_type}.expires_on"] = (
            paper.expires_on.isoformat() if paper.expires_on else None
        )
    return {
        field.name: known.get(field.source) if field.source else None for field in spec.form_fields
    }


def owned(session: Session, *, owner: Citizen, dossier_id: uuid.UUID) -> Dossier:
    dossier = session.exec(
        select(Dossier).where(Dossier.id == dossier_id, Dossier.citizen_id == owner.id)
    ).first()
    if dossier is None:
        raise NotFound("No such dossier.")
    return dossier


def view(
    session: Session, backend: Backend, *, owner: Citizen, dossier_id: uuid.UUID
) -> DossierView:
    dossier = owned(session, owner=owner, dossier_id=dossier_id)
    return workflow.describe(session, backend, dossier, _missing(session, dossier, days.today()))


def list_for(session: Session, backend: Backend, *, owner: Citizen) -> list[DossierView]:
    dossiers = session.exec(
        select(Dossier)
        .where(Dossier.citizen_id == owner.id)
        .order_by(col(Dossier.created_at).desc())
    ).all()
    today = days.today()
    return [workflow.describe(session, backend, d, _missing(session, d, today)) for d in dossiers]


def _missing(session: Session, dossier: Dossier, today: date) -> list[rules.Missing]:
    """For a dossier sent, the papers it was sent without and why, as found that day. Otherwise
    the requirements without a paper, for the reason found when it was looked for, and those
    whose paper no longer qualifies today."""
    spec = procedures.get(session, dossier.procedure_code)
    kept = workflow.kept_reasons(session, dossier)
    if workflow.sent(dossier):
        order = {r.doc_type: i for i, r in enumerate(spec.requirements)}
        # Only optional papers can be missing from a dossier sent: it is not sent otherwise.
        return [
            rules.Missing(doc_type, kept[doc_type], required=False)
            for doc_type in sorted(kept, key=lambda t: order.get(t, len(order)))
        ]
    attached = {row.doc_type: version for row, _, version in workflow.attached(session, dossier)}
    missing = []
    for requirement in spec.requirements:
        version = attached.get(requirement.doc_type)
        reason = (
            kept.get(requirement.doc_type, AttachmentReason.NONE_STORED)
            if version is None
            else rules.problem(requirement, version, today)
        )
        if reason is not None:
            missing.append(rules.Missing(requirement.doc_type, reason, requirement.required))
    return missing


def attach_upload(
    session: Session,
    backend: Backend,
    *,
    owner: Citizen,
    dossier_id: uuid.UUID,
    parts: Iterable[uploads.FormPart],
    end_read: db.EndRead,
) -> DossierView:
    """Store a missing paper in the vault — so the next dossier reuses it — and attach it."""
    dossier = owned(session, owner=owner, dossier_id=dossier_id)
    workflow.require_editable(dossier)
    spec = procedures.get(session, dossier.procedure_code)

    def still_editable() -> None:
        workflow.reread_locked(session, dossier)
        workflow.require_editable(dossier)

    paper = documents.upload(
        session,
        backend,
        owner=owner,
        parts=parts,
        end_read=end_read,
        before_recording=still_editable,
    )
    requirement = next((r for r in spec.requirements if r.doc_type == paper.doc_type), None)
    if requirement is None:
        raise InvalidInput(
            f"{spec.name} does not ask for a paper of type {paper.doc_type}.", field="doc_type"
        )
    document = documents.get(session, owner=owner, document_id=paper.id)
    version = documents.version_row(session, document, paper.version)
    reason = rules.problem(requirement, version, days.today())
    if reason is not None:
        raise InvalidInput(
            f"{rules.Missing(paper.doc_type, reason, True).detail} "
            "Give issued_on and expires_on for the paper if they are not right.",
            field="file",
        )
    session.execute(
        delete(DossierAttachment).where(
            col(DossierAttachment.dossier_id) == dossier.id,
            col(DossierAttachment.doc_type) == paper.doc_type,
        )
    )
    session.add(
        _attachment(dossier, paper.doc_type, rules.Candidate(document, version), reused=False)
    )
    dossier.updated_at = db.utc_now()
    session.add(dossier)
    session.flush()
    return workflow.describe(session, backend, dossier, _missing(session, dossier, days.today()))


def detach(session: Session, *, owner: Citizen, dossier_id: uuid.UUID, doc_type: str) -> None:
    dossier = owned(session, owner=owner, dossier_id=dossier_id)
    workflow.reread_locked(session, dossier)
    workflow.require_editable(dossier)
    removed = session.execute(
        delete(DossierAttachment).where(
            col(DossierAttachment.dossier_id) == dossier.id,
            col(DossierAttachment.doc_type) == doc_type,
            col(DossierAttachment.document_id).is_not(None),
        )
    )
    if not removed.rowcount:  # type: ignore[attr-defined]
        raise NotFound(f"No paper of type {doc_type} is attached.")


def update_form(
    session: Session,
    backend: Backend,
    *,
    owner: Citizen,
    dossier_id: uuid.UUID,
    values: dict[str, str | None],
) -> DossierView:
    dossier = owned(session, owner=owner, dossier_id=dossier_id)
    workflow.reread_locked(session, dossier)
    workflow.require_editable(dossier)
    spec = procedures.get(session, dossier.procedure_code)
    fields = {field.name: field for field in spec.form_fields}
    form = workflow.form_of(session, backend, dossier)
    for name, value in values.items():
        field = fields.get(name)
        if field is None:
            raise InvalidInput(f"{spec.name} has no field {name!r}.", field=name)
        if isinstance(value, str):
            value = text.lines(value) if field.type == "textarea" else text.one_line(value)
        if value and field.type == "date":
            try:
                days.parse(value)
            except ValueError:
                raise InvalidInput(
                    f"{field.label}: a date written YYYY-MM-DD.", field=name
                ) from None
        if value and field.options and value not in field.options:
            raise InvalidInput(f"{field.label}: one of {', '.join(field.options)}.", field=name)
        if value and len(value) > 2000:
            raise InvalidInput(f"{field.label} is too long.", field=name)
        form[name] = value or None
    workflow.save_form(session, backend, dossier, form)
    dossier.updated_at = db.utc_now()
    session.add(dossier)
    session.flush()
    return workflow.describe(session, backend, dossier, _missing(session, dossier, days.today()))


def submit(
    session: Session, backend: Backend, *, owner: Citizen, dossier_id: uuid.UUID, public_url: str
) -> DossierView:
    """Checked again on the day of submission; the agency then reaches exactly these papers."""
    dossier = owned(session, owner=owner, dossier_id=dossier_id)
    workflow.reread_locked(session, dossier)
    workflow.require_editable(dossier)
    spec = procedures.get(session, dossier.procedure_code)
    missing = _missing(session, dossier, days.today())
    form = workflow.form_of(session, backend, dossier)
    empty = [
        field.name for field in spec.form_fields if field.required and not form.get(field.name)
    ]
    if any(m.required for m in missing) or empty:
        raise Incomplete([m for m in missing if m.required], empty)
    usable = _keep_reasons(session, dossier, spec, missing)
    actor = ("citizen", str(owner.id))
    if dossier.grant_id is not None:  # a resubmission after a supplement
        grants.end(session, dossier.grant_id, actor=actor)
    agency_code = workflow.agency_of(session, dossier).code
    grant = grants.create(
        session,
        backend,
        owner=owner,
        agency_code=agency_code,
        document_ids=list(usable),
        versions=usable,
        purpose=_PURPOSE.format(name=spec.name, short=dossier.id.hex[:8]),
        expires_in_days=grants.MAX_DAYS,
        public_url=public_url,
        require_papers=False,
    )
    dossier.grant_id = grant.id
    dossier.submitted_at = db.utc_now()
    workflow.move(session, backend, dossier, DossierStatus.SUBMITTED, actor=actor)
    return workflow.describe(session, backend, dossier, missing)


def _keep_reasons(
    session: Session, dossier: Dossier, spec: ProcedureSpec, missing: list[rules.Missing]
) -> dict[uuid.UUID, int]:
    """What the dossier is sent with, at the versions the rules checked, and why each other
    paper is not sent, kept with the dossier as found today. Optional papers that no longer
    qualify stay attached but are not sent; a paper the procedure no longer asks for (its
    catalog entry was re-imported since) is taken out: an agency receives only what the
    procedure requires."""
    reasons = {m.doc_type: m.reason for m in missing}
    asked = {r.doc_type for r in spec.requirements}
    sent: dict[uuid.UUID, int] = {}
    rows = session.exec(
        select(DossierAttachment).where(DossierAttachment.dossier_id == dossier.id)
    ).all()
    for row in rows:
        if row.doc_type not in asked:
            session.delete(row)
            continue
        row.reason = reasons.pop(row.doc_type, AttachmentReason.ATTACHED)
        if row.reason == AttachmentReason.ATTACHED and row.document_id and row.version:
            sent[row.document_id] = row.version
        session.add(row)
    for doc_type, reason in reasons.items():
        session.add(_lacking(dossier, doc_type, reason))
    session.flush()
    return sent


def withdraw(
    session: Session, backend: Backend, *, owner: Citizen, dossier_id: uuid.UUID
) -> DossierView:
    dossier = owned(session, owner=owner, dossier_id=dossier_id)
    workflow.reread_locked(session, dossier)
    if dossier.status.closed:
        raise Conflict(f"The dossier is already {dossier.status}.")
    withdrawn = DossierStatus.WITHDRAWN
    workflow.move(session, backend, dossier, withdrawn, actor=("citizen", str(owner.id)))
    return workflow.describe(session, backend, dossier, _missing(session, dossier, days.today()))
