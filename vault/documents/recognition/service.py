"""The reading of a paper, from the upload to the citizen's confirmation.

During an upload the photos' QR codes are decoded in the sandbox, in the call that normalises
each photo (`code_reader`), before any row is written (`codes_on`); once the version row
exists, `start` records what they said or queues an OCR job in the same transaction. The job
(`read_queued`) reads the stored paper in the sandbox and records a suggestion. Nothing of the
paper changes until the citizen accepts (`accept`).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from vault import audit, crypto, db, queue
from vault.accounts import citizens
from vault.accounts.models import ActingSession, ActorKind, Citizen
from vault.blobs import objects
from vault.blobs.backend import Backend
from vault.catalog.document_types import Trust
from vault.documents.forms import DetailsForm
from vault.documents.intake.images import Page
from vault.documents.models import Document, DocumentVersion
from vault.documents.reading import DocumentView, describe, get, version_row
from vault.documents.recognition import cccd, ocr, qr, suggest
from vault.documents.recognition.models import DocumentReading, ReadingSource, ReadingStatus
from vault.documents.sealing import data_key, object_binding, open_metadata, seal_metadata
from vault.keys import ObjectBinding
from vault.kit.errors import Conflict, VaultError

log = logging.getLogger(__name__)
FIELDS = suggest.FIELDS
_KEY_LABEL = b"dvlt/v1/reading-key"
_PDF = "application/pdf"
OFF = "Reading papers is turned off on this vault (VAULT_READING=off)."
NOT_READ = "This paper was not read: it was stored before reading was turned on, or by an agency."


@dataclass(frozen=True)
class Warning:
    code: str
    detail: str


@dataclass(frozen=True)
class ReadingView:
    status: ReadingStatus
    source: ReadingSource | None = None
    suggested_doc_type: str | None = None
    fields: dict[str, str | None] = field(default_factory=lambda: dict.fromkeys(FIELDS))
    confidence: float | None = None
    warnings: list[Warning] = field(default_factory=list)
    detail: str | None = None
    accepted: bool = False


@dataclass(frozen=True)
class _Result:
    source: ReadingSource
    doc_type: str | None
    fields: dict[str, str | None]
    confidence: float
    text: str | None = None


def code_reader(backend: Backend, pages_before: int) -> Callable[[Any], list[str]] | None:
    """What an upload's photo is looked at with while the sandbox normalises it, on the pixels
    it has decoded: the QR decoder on a paper's first photos, nothing when reading is off."""
    if not backend.reading.enabled or pages_before >= qr.MAX_PHOTOS:
        return None
    return qr.codes_in


def codes_on(backend: Backend, photos: Sequence[Page]) -> list[str]:
    """The QR codes found on an upload's photos as they were normalised (`code_reader`); none
    if reading is off or the photos have none (a photo the decoder failed on is left to OCR)."""
    if not backend.reading.enabled:
        return []
    looked = [photo.codes for photo in photos[: qr.MAX_PHOTOS]]
    for codes in looked:
        if codes:
            return list(codes)
    if any(codes is None for codes in looked):
        log.warning("the QR decoder failed on an upload's photo; the paper is left to OCR")
    return []


def start(
    session: Session,
    backend: Backend,
    *,
    owner: Citizen,
    document: Document,
    version: DocumentVersion,
    codes: list[str],
) -> None:
    if not backend.reading.enabled:
        return
    found = qr.parse(codes)
    reading = DocumentReading(
        document_id=document.id, version=version.version, status=ReadingStatus.PENDING
    )
    session.add(reading)
    if found is not None:
        _finish(session, backend, owner, version, reading, _from_code(found))
        return
    problem = ocr.problem(backend.reading.tessdata)
    if problem is not None:
        reading.status, reading.detail = ReadingStatus.UNAVAILABLE, problem
        session.flush()
        return
    session.flush()
    args: dict[str, queue.Arg] = {"document": str(document.id), "version": version.version}
    queue.enqueue(session, queue.Task.READ_PAPER, args)


def _from_code(found: qr.Found) -> _Result:
    fields = {name: found.fields.get(name) for name in FIELDS}
    doc_type, confidence = found.doc_type, 1.0
    if doc_type is None and found.paper_name:
        doc_type, confidence = suggest.type_of([found.paper_name])
    if doc_type == "CCCD" and fields["date_of_birth"] and fields["issued_on"]:
        expiry = cccd.expires_on(
            date.fromisoformat(fields["date_of_birth"]), date.fromisoformat(fields["issued_on"])
        )
        fields["expires_on"] = expiry.isoformat() if expiry else None
    return _Result(ReadingSource.QR, doc_type, fields, confidence)


def _finish(
    session: Session,
    backend: Backend,
    owner: Citizen,
    version: DocumentVersion,
    reading: DocumentReading,
    result: _Result,
) -> None:
    key, aad = _sealing(session, backend, owner.id, version)
    found = {"fields": result.fields, "warnings": _warnings(session, backend, owner, result)}
    reading.status = ReadingStatus.DONE
    reading.source = result.source
    reading.suggested_doc_type = result.doc_type
    reading.confidence = result.confidence
    reading.sealed_fields = crypto.seal(key, json.dumps(found).encode(), aad=aad + b"/fields")
    if result.text is not None:
        reading.sealed_text = crypto.seal(key, result.text.encode(), aad=aad + b"/text")
    reading.updated_at = db.utc_now()
    session.flush()


def _warnings(
    session: Session, backend: Backend, owner: Citizen, result: _Result
) -> list[dict[str, str]]:
    if result.doc_type != "CCCD" or not result.fields.get("number"):
        return []
    number = str(result.fields["number"])
    warnings = []
    if number != citizens.national_id_of(session, backend.keyring, owner):
        warnings.append(
            Warning(
                "not_own_number",
                "The number on this card is not the personal identification number of this "
                "account: a family member's card can be kept here, but check it is the one "
                "you meant to store.",
            )
        )
    born = result.fields.get("date_of_birth")
    if born and not cccd.number_fits(number, date.fromisoformat(born)):
        warnings.append(
            Warning(
                "number_does_not_fit",
                "The card's number does not match its date of birth; check both were read right.",
            )
        )
    return [{"code": w.code, "detail": w.detail} for w in warnings]


def _sealing(
    session: Session, backend: Backend, owner_id: uuid.UUID, version: DocumentVersion
) -> tuple[bytes, bytes]:
    """A key derived from the version's data key, and the AAD binding it to the version."""
    binding = object_binding(
        crypto.ObjectKind.CONTENT, version.document_id, owner_id, version.version
    )
    dek = data_key(session, backend, owner_id, version.kek_version, version.wrapped_dek, binding)
    aad = crypto.metadata_aad(
        document_id=version.document_id, owner_id=owner_id, version=version.version
    )
    return crypto.subkey(dek, _KEY_LABEL), aad + b"/reading"


def view(
    session: Session, backend: Backend, document: Document, version: DocumentVersion
) -> ReadingView:
    reading = session.get(DocumentReading, (document.id, version.version))
    if reading is None:
        detail = NOT_READ if backend.reading.enabled else OFF
        return ReadingView(ReadingStatus.UNAVAILABLE, detail=detail)
    found: dict[str, object] = {}
    if reading.sealed_fields is not None:
        key, aad = _sealing(session, backend, document.owner_id, version)
        found = json.loads(crypto.open_box(key, reading.sealed_fields, aad=aad + b"/fields"))
    fields = found.get("fields") or {}
    assert isinstance(fields, dict)
    raw_warnings = found.get("warnings") or []
    assert isinstance(raw_warnings, list)
    return ReadingView(
        status=reading.status,
        source=reading.source,
        suggested_doc_type=reading.suggested_doc_type,
        fields={name: fields.get(name) for name in FIELDS},
        confidence=reading.confidence,
        warnings=[Warning(w["code"], w["detail"]) for w in raw_warnings],
        detail=reading.detail,
        accepted=reading.accepted_at is not None,
    )


def reading_of(
    session: Session, backend: Backend, *, owner: Citizen, document_id: uuid.UUID
) -> ReadingView:
    """The reading of the paper's current version."""
    document = get(session, owner=owner, document_id=document_id)
    return view(
        session, backend, document, version_row(session, document, document.current_version)
    )


def text_of(
    session: Session, backend: Backend, document: Document, version: DocumentVersion
) -> str:
    """The OCR text of a version, for search; empty if it has none."""
    reading = session.get(DocumentReading, (document.id, version.version))
    if reading is None or reading.sealed_text is None:
        return ""
    key, aad = _sealing(session, backend, document.owner_id, version)
    return crypto.open_box(key, reading.sealed_text, aad=aad + b"/text").decode()


def _not_under_an_officers_eyes(session: Session, owner: Citizen) -> None:
    """While an officer at the counter acts for the citizen, what the officer is looking at
    stays what they see: a certification vouches for the type, number and dates shown, and a
    change made from elsewhere meanwhile (the citizen's phone, or whoever holds their password)
    would be certified unseen. The officer may confirm the reading themselves."""
    actor = audit.acting(session)
    if actor is not None and actor.actor_type == "officer":
        return
    now = db.utc_now()
    watching = session.exec(
        select(ActingSession.id).where(
            ActingSession.citizen_id == owner.id,
            ActingSession.kind == ActorKind.OFFICER,
            col(ActingSession.ended_at).is_(None),
            col(ActingSession.expires_at) > now,
        )
    ).first()
    if watching is not None:
        raise Conflict(
            "An officer at the counter is acting for you now: confirm the reading with them, "
            "or once their session has ended."
        )


def accept(
    session: Session,
    backend: Backend,
    *,
    owner: Citizen,
    document_id: uuid.UUID,
    corrections: dict[str, str | None],
) -> DocumentView:
    """The suggestion, with the citizen's corrections over it, becomes the paper's type,
    number and dates (the name, birth date and address stay in the reading). A paper with no
    suggestion can still be given its type and fields this way."""
    document = get(session, owner=owner, document_id=document_id)
    version = version_row(session, document, document.current_version)
    session.refresh(version, with_for_update=True)  # a certification at once waits, or we do
    if version.trust is Trust.SELF_SCAN:
        _not_under_an_officers_eyes(session, owner)
    reading = session.get(DocumentReading, (document.id, version.version))
    shown = view(session, backend, document, version)
    suggested = shown.status is ReadingStatus.DONE
    doc_type = corrections.get("doc_type") or (shown.suggested_doc_type if suggested else None)
    fields = dict(shown.fields) if suggested else dict.fromkeys(FIELDS)
    fields |= {k: v for k, v in corrections.items() if k in FIELDS}
    if doc_type is None and not any(fields.values()):
        raise Conflict("There is nothing to confirm yet: the paper has not been read.")
    _recompute_expiry(doc_type or document.doc_type, fields, corrections)
    form = DetailsForm()
    form.accept("doc_type", doc_type or document.doc_type)
    for name in ("number", "issued_on", "expires_on"):
        if fields.get(name) is not None:
            form.accept(name, str(fields[name]))
    doc_type = form.finish()
    if version.trust is not Trust.SELF_SCAN:
        _keep_vouched(describe(session, backend, document, version), doc_type, form)
    document.doc_type = doc_type
    document.updated_at = db.utc_now()
    _apply(session, backend, owner, version, form)
    if reading is not None:
        source = reading.source or ReadingSource.OCR
        text = text_of(session, backend, document, version) if reading.sealed_text else None
        confirmed = _Result(source, document.doc_type, fields, reading.confidence or 0.0, text)
        _finish(session, backend, owner, version, reading, confirmed)
        reading.accepted_at = db.utc_now()
    session.add(document)
    session.flush()
    audit.append(
        session,
        audit.Event(
            "document.reading.accept",
            subject=owner.id,
            actor_type="citizen",
            actor_id=str(owner.id),
            document_id=document.id,
            details={"doc_type": document.doc_type, "version": version.version},
        ),
    )
    return describe(session, backend, document, version)


def _keep_vouched(now: DocumentView, doc_type: str, form: DetailsForm) -> None:
    """A certified version's type, number and dates are what an officer compared with the
    original, an issued one's what its agency signed; other rules trust them (a guardian's
    birth certificate, a dossier's certified paper), so a correction may confirm them, never
    move them: relabelled, a certified identity card would pass for a child's birth
    certificate."""
    wanted = {
        "doc_type": doc_type,
        "number": form.text.get("number"),
        "issued_on": form.dates.get("issued_on"),
        "expires_on": form.dates.get("expires_on"),
    }
    moved = [
        name for name, value in wanted.items() if value is not None and value != getattr(now, name)
    ]
    if moved:
        how = "certified at the counter" if now.trust is Trust.CERTIFIED else "issued by its agency"
        raise Conflict(
            f"This paper was {how}: its {', '.join(moved)} stay as they were vouched for. "
            "If they are wrong, store a new scan as a new version and have it certified again."
        )


def _recompute_expiry(
    doc_type: str, fields: dict[str, str | None], corrections: dict[str, str | None]
) -> None:
    """A corrected birth or issue date moves a căn cước's computed expiry with it."""
    if doc_type != "CCCD" or "expires_on" in corrections:
        return
    if not ({"date_of_birth", "issued_on"} & corrections.keys()):
        return
    born, issued = fields.get("date_of_birth"), fields.get("issued_on")
    if born and issued:
        expiry = cccd.expires_on(date.fromisoformat(born), date.fromisoformat(issued))
        fields["expires_on"] = expiry.isoformat() if expiry else None


def _apply(
    session: Session,
    backend: Backend,
    owner: Citizen,
    version: DocumentVersion,
    form: DetailsForm,
) -> None:
    binding = object_binding(
        crypto.ObjectKind.CONTENT, version.document_id, owner.id, version.version
    )
    dek = data_key(session, backend, owner.id, version.kek_version, version.wrapped_dek, binding)
    metadata: dict[str, str | None] = dict(open_metadata(dek, binding, version.sealed_metadata))
    if form.text.get("number"):
        metadata["number"] = form.text["number"]
    version.sealed_metadata = seal_metadata(dek, binding, metadata)
    for name in ("issued_on", "expires_on"):
        if form.dates.get(name) is not None:
            setattr(version, name, form.dates[name])
    session.add(version)


def read_queued(engine: Engine, backend: Backend, *, document_id: uuid.UUID, version: int) -> None:
    """The OCR job: safe to run again, it does nothing to a reading that is not pending."""
    with db.unit_of_work(engine, writes=False) as session:
        reading = session.get(DocumentReading, (document_id, version))
        row = session.get(DocumentVersion, (document_id, version))
        document = session.get(Document, document_id)
        if reading is None or row is None or document is None:
            return
        if reading.status is not ReadingStatus.PENDING:
            return
        binding = object_binding(crypto.ObjectKind.CONTENT, document_id, document.owner_id, version)
        dek = data_key(
            session, backend, document.owner_id, row.kek_version, row.wrapped_dek, binding
        )
        sha256 = open_metadata(dek, binding, row.sealed_metadata)["sha256"]
        stored = objects.StoredObject(row.object_key, dek, row.size, sha256)
        content_type = row.content_type
    status, detail, text = ReadingStatus.DONE, None, None
    try:
        text = _read(backend, stored, binding, content_type)
    except ocr.OcrUnavailable as missing:
        status, detail = ReadingStatus.UNAVAILABLE, str(missing)
    except VaultError as refused:
        status, detail = ReadingStatus.FAILED, refused.detail
    with db.unit_of_work(engine) as session:
        reading = session.get(DocumentReading, (document_id, version))
        row = session.get(DocumentVersion, (document_id, version))
        owner = session.get(Citizen, document.owner_id)
        if reading is None or row is None or owner is None:
            return
        if reading.status is not ReadingStatus.PENDING:
            return
        if text is None:
            reading.status, reading.detail = status, detail
            reading.updated_at = db.utc_now()
            session.add(reading)
            return
        _finish(session, backend, owner, row, reading, _from_text(text))


def _read(
    backend: Backend, stored: objects.StoredObject, binding: ObjectBinding, content_type: str
) -> ocr.Text:
    options = {"tessdata": backend.reading.tessdata, "max_pixels": backend.limits.max_image_pixels}
    if content_type == _PDF:
        with objects.seekable(backend.store, stored, binding) as source:
            return backend.sandbox.run_on(ocr.read_pdf, source, **options)
    data = objects.read_bytes(backend.store, stored, binding)
    return backend.sandbox.run(ocr.read_image, data, **options)


def _from_text(text: ocr.Text) -> _Result:
    found = qr.parse(text.codes)
    if found is not None:
        coded = _from_code(found)
        return _Result(ReadingSource.QR, coded.doc_type, coded.fields, coded.confidence, text.text)
    suggestion = suggest.suggest(text.text, text.confidence)
    fields = suggestion.fields or dict.fromkeys(FIELDS)
    return _Result(ReadingSource.OCR, suggestion.doc_type, fields, suggestion.confidence, text.text)
