"""Receiving one paper from an upload form as it streams in.

Photos are normalised in the sandbox (several photos are the pages of one PDF); a PDF is
encrypted as it arrives, each chunk once, and its ciphertext goes both to the store and to a
local spool. The parser in the sandbox then checks it through a seekable, verified view of
the spool, while the store takes the last parts: the check never reads the object back from
the store. Nothing readable touches a disk, and whatever was written is deleted again if the
paper is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain
from typing import Protocol

from vault.blobs import objects
from vault.blobs.backend import Backend
from vault.documents import recognition
from vault.documents.intake import images, pdfs
from vault.documents.intake.sniff import SNIFF_BYTES, Kind, sniff
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


FormPart = FormField | FormFile


@dataclass
class Received:
    content: objects.StoredObject
    content_type: str
    pages: int
    thumbnail: objects.StoredObject | None
    filename: str | None
    verbatim: bool  # the stored bytes are exactly the uploaded file (a PDF)
    photos: list[images.Page] = field(default_factory=list)  # normalised, for reading

    @property
    def keys(self) -> list[str]:
        return [self.content.key] + ([self.thumbnail.key] if self.thumbnail else [])


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


@dataclass
class _Collected:
    pages: list[images.Page] = field(default_factory=list)
    thumbnail: bytes | None = None
    pdf: objects.StoredObject | None = None
    pdf_pages: int = 0
    filename: str | None = None


def receive(
    backend: Backend,
    parts: Iterable[FormPart],
    *,
    content: ObjectBinding,
    thumbnail: ObjectBinding,
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
            else:
                _take_file(backend, part, budget, collected, content, written)
        return _store(backend, collected, content, thumbnail, written)
    except BaseException:
        objects.discard_all(backend.store, written)
        raise


def _take_file(
    backend: Backend,
    part: FormFile,
    budget: _Budget,
    collected: _Collected,
    binding: ObjectBinding,
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
        _take_pdf(backend, budget.count(chain([head], rest)), collected, binding, written)
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
        facts = backend.sandbox.run_on(pdfs.inspect, view, max_pages=backend.limits.max_pdf_pages)
        collected.thumbnail = _pdf_thumbnail(backend, facts)
    collected.pdf, collected.pdf_pages = stored, facts.pages


def _store(
    backend: Backend,
    collected: _Collected,
    binding: ObjectBinding,
    thumbnail_binding: ObjectBinding,
    written: list[str],
) -> Received:
    store = backend.store
    if collected.pdf is not None:
        content, content_type, pages = collected.pdf, PDF, collected.pdf_pages
    elif collected.pages:
        first = collected.pages[0]
        single = len(collected.pages) == 1
        data = first.data if single else backend.sandbox.run(images.bind_pages, collected.pages)
        content_type, pages = (first.content_type if single else PDF), len(collected.pages)
        content = objects.write_bytes(store, binding, data, on_key=written.append)
    else:
        raise InvalidInput("Attach the paper as one or more parts named 'file'.", field="file")
    thumbnail = None
    if collected.thumbnail:
        thumbnail = objects.write_bytes(
            store, thumbnail_binding, collected.thumbnail, on_key=written.append
        )
    verbatim = collected.pdf is not None
    received = Received(content, content_type, pages, thumbnail, collected.filename, verbatim)
    received.photos = collected.pages
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
