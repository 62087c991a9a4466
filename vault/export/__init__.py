"""A citizen's export of everything the vault holds for them (the right of access and to a copy,
Nghị định 13/2023/NĐ-CP): every current paper, and its metadata, shares, accesses, dossiers
and audit chain with its signed proof. It gathers from every domain, so it sits above them
all, beside vault.erasure, and none of them imports it.

The zip is streamed: each paper is decrypted chunk by chunk straight into the archive being
sent, so no plaintext copy is ever built in memory or written to disk. The JSON files are
metadata, built before the first byte is sent.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import uuid
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from enum import Enum
from pathlib import PurePosixPath
from typing import Any

from pydantic import BaseModel
from sqlmodel import Session

from vault import audit, db, documents
from vault.accounts.models import Citizen
from vault.assist import certifications
from vault.audit import checkpoints
from vault.blobs.backend import Backend
from vault.catalog.document_types import Trust
from vault.dossiers import citizen as dossiers
from vault.kit.errors import NotFound
from vault.sharing import access_log, grants

JSON_FILES = ("papers.json", "access-log.json", "grants.json", "dossiers.json", "audit.json")
_VIETNAM = timedelta(hours=7)  # a zip's times are local, without a zone


@dataclasses.dataclass(frozen=True)
class Export:
    papers: list[tuple[str, documents.Content]]
    files: list[tuple[str, bytes]]
    made_at: datetime
    # The first paper, opened and its first chunk verified before the answer starts: a store
    # that is down fails the export with its own status, not as a 200 and an empty zip.
    first: Iterator[bytes] | None = None

    def chunks(self) -> Iterator[bytes]:
        """The zip, as it is written. Papers are stored as they are (already compressed)."""
        sink = _Pending()
        stamp = (self.made_at + _VIETNAM).timetuple()[:6]
        with zipfile.ZipFile(sink, "w", allowZip64=True) as archive:
            for index, (name, content) in enumerate(self.papers):
                info = zipfile.ZipInfo(name, date_time=stamp)
                info.file_size = content.size  # so that zipfile picks ZIP64 when it must
                opened = self.first if index == 0 else None
                with archive.open(info, "w") as entry:
                    for chunk in opened if opened is not None else content.chunks():
                        entry.write(chunk)
                        yield sink.take()
                yield sink.take()
            for name, data in self.files:
                info = zipfile.ZipInfo(name, date_time=stamp)
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, data)
                yield sink.take()
        yield sink.take()


class _Pending:
    """Where the zip writer writes: what it wrote since the last take is the response's next
    bytes. Neither seekable nor tellable, so zipfile streams (sizes after each entry)."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes, /) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def gather(session: Session, backend: Backend, citizen: Citizen, *, reading: bool = True) -> Export:
    """Everything to export, read now; the papers themselves are read while streaming. The
    export itself is recorded once all is read, so audit.json ends with the event before it:
    in a transaction of its own when `session` only reads (a GET), else in `session`."""
    views = documents.list_documents(session, backend, owner=citizen)
    names = _file_names(views)
    papers = []
    described = []
    for view, name in zip(views, names, strict=True):
        content = documents.open_content(session, backend, owner=citizen, document_id=view.id)
        papers.append((name, content))
        described.append(_paper(session, backend, citizen, view, name))
    records = access_log.for_citizen(session, backend, owner=citizen, limit=1_000_000)
    files = {
        "papers.json": described,
        "access-log.json": records,
        "grants.json": grants.list_for(session, backend, owner=citizen),
        "dossiers.json": dossiers.list_for(session, backend, owner=citizen),
        "audit.json": _audit(session, citizen.id),
    }
    first = papers[0][1].chunks() if papers else None
    event = audit.Event(
        "account.export",
        subject=citizen.id,
        actor_type="citizen",
        actor_id=str(citizen.id),
        details={"papers": len(papers)},
    )
    if reading:
        audit.append_apart(session, event)
    else:
        audit.append(session, event)
    return Export(
        papers=papers,
        files=[(name, _json(files[name])) for name in JSON_FILES],
        made_at=db.utc_now(),
        first=first,
    )


def _paper(
    session: Session,
    backend: Backend,
    citizen: Citizen,
    view: documents.DocumentView,
    name: str,
) -> dict[str, Any]:
    versions = documents.list_versions(session, backend, owner=citizen, document_id=view.id)
    certification = None
    if view.trust is Trust.CERTIFIED:
        try:
            found = certifications.certification_of(
                session, backend, owner=citizen, document_id=view.id
            )
        except NotFound:
            found = None
        if found is not None:
            certification = {
                "statement": found.statement.decode(),
                "signature": base64.b64encode(found.signature).decode(),
                "key_id": found.key_id,
                "algorithm": found.algorithm,
                "note": found.note,
            }
    return {
        "file": name,
        **_plain(view),
        "versions": [_plain(version) for version in versions],
        "certification": certification,
    }


def _audit(session: Session, citizen_id: uuid.UUID) -> dict[str, Any]:
    """The whole chain, and the proof of its latest event a checkpoint covers (null, with the
    reason, before the first checkpoint does)."""
    events = checkpoints.published_chain(session, str(citizen_id))
    try:
        proof: dict[str, Any] | None = checkpoints.proof_for(session, str(citizen_id)).document()
        unproven = None
    except checkpoints.NotCovered as missing:
        proof, unproven = None, missing.detail
    return {
        "chain": str(citizen_id),
        "events": events,
        "proof": proof,
        "proof_missing": unproven,
    }


def _file_names(views: list[documents.DocumentView]) -> list[str]:
    """Each paper under its own file name; a second paper of the same name gets ` (2)`."""
    taken = {name.lower() for name in JSON_FILES}
    names = []
    for view in views:
        path = PurePosixPath(view.filename.replace("/", "_") or "paper")
        name, number = path.name, 1
        while name.lower() in taken:
            number += 1
            name = f"{path.stem} ({number}){path.suffix}"
        taken.add(name.lower())
        names.append(name)
    return names


def _json(value: Any) -> bytes:
    return json.dumps(_plain(value), ensure_ascii=False, indent=2).encode()


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return db.aware(value).isoformat()
    if isinstance(value, date | uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value
