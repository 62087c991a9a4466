"""Receiving one paper from an upload form as it streams in.

Photos are normalised in the sandbox (several photos are the pages of one PDF); a PDF is
encrypted as it arrives, each chunk once, and its ciphertext goes both to the store and to a
local spool. The parser in the sandbox then checks it through a seekable, verified view of
the spool, while the store takes the last parts: the check never reads the object back from
the store. A resumable upload already written as the paper's own object (a SealedFile) is
checked where it lies and kept as it is. Nothing readable touches a disk, and whatever was
written is deleted again if the paper is refused.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from itertools import chain
from typing import BinaryIO, Protocol

from vault import crypto
from vault.blobs import objects
from vault.blobs.backend import Backend
from vault.documents import recognition
from vault.documents.intake import images, pdfs
from vault.documents.intake.sniff import SNIFF_BYTES, Kind, sniff
from vault.documents.sealing import object_binding
from vault.keys import ObjectBinding
from vault.kit.errors import FileTooLarge, InvalidInput, VaultError

PDF = "application/pdf"


@dataclass(frozen=True)
class FormField:
    name: str
    value: str


class FormFile(Protocol):
    name: str
    filename: str | None

    def chunks(self) -> Iterator[bytes]: ...


class SealedFile(ABC):
    """A file already stored as the content object of the paper `paper` names: a PDF of it is
    adopted (checked through `adopt`'s view and kept as it lies) when the paper being made is
    that one; otherwise it is read like any file (`chunks`)."""

    name: str
    filename: str | None
    paper: ObjectBinding
    size: int
    adopted: bool  # set by the intake once the paper keeps the object as its own

    @abstractmethod
    def chunks(self) -> Iterator[bytes]: ...

    @abstractmethod
    def adopt(self) -> AbstractContextManager[tuple[objects.StoredObject, BinaryIO]]:
        """The object, stored whole, and a seekable verified view of its plaintext."""


FormPart = FormField | FormFile


@dataclass
class Paper:
    """The paper the files become: whose, which version, and its id, which the first file may
    fix (a SealedFile bound to a new paper brings its own); otherwise drawn when first needed."""

    owner_id: uuid.UUID
    version: int
    document_id: uuid.UUID | None = None

    def takes(self, sealed: SealedFile) -> bool:
        bound = sealed.paper
        if bound.owner_id != self.owner_id or bound.version != self.version:
            return False
        if self.document_id is None:
            self.document_id = bound.document_id
        return self.document_id == bound.document_id

    @property
    def id(self) -> uuid.UUID:
        if self.document_id is None:
            self.document_id = uuid.uuid4()
        return self.document_id

    def binding(self, kind: crypto.ObjectKind) -> ObjectBinding:
        return object_binding(kind, self.id, self.owner_id, self.version)


@dataclass
class Received:
    content: objects.StoredObject
    content_type: str
    pages: int
    thumbnail: objects.StoredObject | None
    filename: str | None
    verbatim: bool  # the stored bytes are exactly the uploaded file (a PDF)
    photos: list[images.Page] = field(default_factory=list)  # normalised, for reading
    adopted: bool = False  # the content is a resumable upload's object, which stays its own

    @property
    def keys(self) -> list[str]:
        """The objects written for this paper: to delete again if it is not kept."""
        content = [] if self.adopted else [self.content.key]
        return content + ([self.thumbnail.key] if self.thumbnail else [])


@dataclass
class _Budget:
    """Bytes of files left in this upload; the limit holds while reading, not after."""

    left: int
    limit: int

    def count(self, chunks: Iterable[bytes], *, per_file: int | None = None) -> Iterator[bytes]:
        used = 0
        for chunk in chunks:
            used += len(chunk)
            self.left -= len(chunk)
            if self.left < 0:
                raise FileTooLarge(f"An upload is limited to {_mib(self.limit)}.")
            if per_file is not None and used > per_file:
                raise FileTooLarge(f"Each photo is limited to {_mib(per_file)}.")
            yield chunk

    def take(self, size: int) -> None:
        self.left -= size
        if self.left < 0:
            raise FileTooLarge(f"An upload is limited to {_mib(self.limit)}.")


@dataclass
class _Collected:
    pages: list[images.Page] = field(default_factory=list)
    thumbnail: bytes | None = None
    pdf: objects.StoredObject | None = None
    pdf_pages: int = 0
    filename: str | None = None
    adopted: bool = False


def receive(
    backend: Backend,
    parts: Iterable[FormPart],
    *,
    paper: Paper,
    on_field: Callable[[str, str], None],
) -> Received:
    limits = backend.limits
    budget = _Budget(limits.max_upload_bytes, limits.max_upload_bytes)
    collected = _Collected()
    written: list[str] = []
    try:
        for part in parts:
            if isinstance(part, FormField):
                on_field(part.name, part.value)
            elif not _adopted(backend, part, budget, collected, paper):
                _take_file(backend, part, budget, collected, paper, written)
        return _store(backend, collected, paper, written)
    except BaseException:
        objects.discard_all(backend.store, written)
        raise


def _take_file(
    backend: Backend,
    part: FormFile,
    budget: _Budget,
    collected: _Collected,
    paper: Paper,
    written: list[str],
) -> None:
    limits = backend.limits
    if part.name != "file":
        raise InvalidInput(f"Files go in parts named 'file', not {part.name!r}.", field=part.name)
    head, rest = _peek(part.chunks())
    if not head and not part.filename:
        return  # a page's file input left unused sends an empty part without a name
    if not head:
        raise InvalidInput("The file is empty.", field="file")
    kind = sniff(head)
    collected.filename = collected.filename or part.filename
    if collected.pdf is not None or (kind is Kind.PDF and collected.pages):
        raise InvalidInput("Upload a PDF on its own; several photos become the pages of one PDF.")
    if kind is Kind.PDF:
        content = paper.binding(crypto.ObjectKind.CONTENT)
        _take_pdf(backend, budget.count(chain([head], rest)), collected, content, written)
        return
    if len(collected.pages) >= limits.max_pages:
        raise InvalidInput(f"A paper has at most {limits.max_pages} pages.", field="file")
    data = b"".join(budget.count(chain([head], rest), per_file=limits.max_image_bytes))
    normalised = backend.sandbox.run(
        images.normalise,
        data,
        kind,
        max_pixels=limits.max_image_pixels,
        max_pages=limits.max_pages - len(collected.pages),
        codes_in=recognition.code_reader(backend, len(collected.pages)),
    )
    collected.pages.extend(normalised.pages)
    collected.thumbnail = collected.thumbnail or normalised.thumbnail


def _adopted(
    backend: Backend, part: FormFile, budget: _Budget, collected: _Collected, paper: Paper
) -> bool:
    """A sealed PDF that is this paper's object already, checked from where it lies: True if
    taken so. Anything else (a photo, a file for another paper) is read as a file is."""
    if not isinstance(part, SealedFile) or part.name != "file" or not part.size:
        return False
    if collected.pdf is not None or collected.pages or not paper.takes(part):
        return False
    with part.adopt() as (stored, view):
        if sniff(view.read(SNIFF_BYTES)) is not Kind.PDF:
            return False
        view.seek(0)
        budget.take(stored.size)
        _check_pdf(backend, view, collected)
    collected.pdf, collected.adopted = stored, True
    part.adopted = True
    collected.filename = collected.filename or part.filename
    return True


def _take_pdf(
    backend: Backend,
    chunks: Iterable[bytes],
    collected: _Collected,
    binding: ObjectBinding,
    written: list[str],
) -> None:
    """Checked, and its thumbnail drawn, from the spool while the store takes the last parts;
    a PDF refused here is never completed in the store."""
    with objects.write_checked(backend.store, binding, chunks, on_key=written.append) as (
        stored,
        view,
    ):
        _check_pdf(backend, view, collected)
    collected.pdf = stored


def _check_pdf(backend: Backend, view: BinaryIO, collected: _Collected) -> None:
    facts = backend.sandbox.run_on(pdfs.inspect, view, max_pages=backend.limits.max_pdf_pages)
    collected.thumbnail = _pdf_thumbnail(backend, facts)
    collected.pdf_pages = facts.pages


def _store(backend: Backend, collected: _Collected, paper: Paper, written: list[str]) -> Received:
    store = backend.store
    if collected.pdf is not None:
        content, content_type, pages = collected.pdf, PDF, collected.pdf_pages
    elif collected.pages:
        first = collected.pages[0]
        single = len(collected.pages) == 1
        data = first.data if single else backend.sandbox.run(images.bind_pages, collected.pages)
        content_type, pages = (first.content_type if single else PDF), len(collected.pages)
        content = objects.write_bytes(
            store, paper.binding(crypto.ObjectKind.CONTENT), data, on_key=written.append
        )
    else:
        raise InvalidInput("Attach the paper as one or more parts named 'file'.", field="file")
    thumbnail = None
    if collected.thumbnail:
        thumbnail = objects.write_bytes(
            store,
            paper.binding(crypto.ObjectKind.THUMBNAIL),
            collected.thumbnail,
            on_key=written.append,
        )
    verbatim = collected.pdf is not None
    received = Received(content, content_type, pages, thumbnail, collected.filename, verbatim)
    received.photos, received.adopted = collected.pages, collected.adopted
    return received


def _pdf_thumbnail(backend: Backend, facts: pdfs.PdfFacts) -> bytes | None:
    if facts.first_page is None:
        return None
    try:
        return backend.sandbox.run(pdfs.render_thumbnail, facts.first_page)
    except VaultError:
        return None  # the paper itself is fine; it is listed without a picture


def _peek(chunks: Iterator[bytes]) -> tuple[bytes, Iterator[bytes]]:
    head = b""
    for chunk in chunks:
        head += chunk
        if len(head) >= SNIFF_BYTES:
            break
    return head, chunks


def _mib(size: int) -> str:
    return f"{size / (1 << 20):,.0f} MiB"
