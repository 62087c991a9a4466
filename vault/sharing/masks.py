"""Masks: the parts of a shared paper the citizen blacks out (an address, an old ID number, a
photo). A mask is a rectangle on one page — pages numbered from 1; x, y, w, h fractions of the
page's width and height, from its top-left corner. The agency only ever receives a copy whose
masked pixels are destroyed (vault.sharing.masking); the stored paper is never changed.

The rules are checked when the grant is made, against the version it shares, so that a paper
that cannot be masked is refused then rather than when the agency asks for it."""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

from sqlmodel import Session

from vault import documents
from vault.accounts.models import Citizen
from vault.blobs.backend import Backend
from vault.kit.errors import InvalidInput
from vault.sharing import masking

MAX_PER_PAPER = 32
# A masked PDF is rendered again page by page, as the stamped copy is.
MAX_PAGES = 20
PDF = "application/pdf"
# Fractions typed by a person or computed by a browser (0.7 + 0.3) may miss 1 by a rounding.
_SLACK = 1e-9


@dataclass(frozen=True)
class Mask:
    page: int
    x: float
    y: float
    w: float
    h: float

    @property
    def box(self) -> tuple[float, float, float, float]:
        return (self.x, self.y, self.w, self.h)


@dataclass(frozen=True)
class Paper:
    """What the rules need to know of a paper: how many pages, what kind, how large."""

    pages: int
    content_type: str
    size: int


Masks = dict[uuid.UUID, list[Mask]]


def check(
    masks: Mapping[uuid.UUID, Sequence[Mask]],
    papers: Mapping[uuid.UUID, Paper],
    *,
    max_bytes: int,
) -> Masks:
    """The masks of each shared paper, checked; a paper with an empty list is shared whole."""
    checked: Masks = {}
    for document_id, boxes in masks.items():
        if document_id not in papers:
            raise _refused(f"Masks name a paper that is not in this share: {document_id}.")
        if not boxes:
            continue
        paper = papers[document_id]
        if len(boxes) > MAX_PER_PAPER:
            raise _refused(f"A paper takes at most {MAX_PER_PAPER} masks.")
        if paper.content_type == PDF and paper.pages > MAX_PAGES:
            raise _refused(f"Masks can be put on papers of at most {MAX_PAGES} pages.")
        if paper.size > max_bytes:
            raise _refused(f"This paper is too large to be masked (over {max_bytes >> 20} MiB).")
        for mask in boxes:
            _check_one(mask, paper.pages)
        checked[document_id] = list(boxes)
    return checked


def _check_one(mask: Mask, pages: int) -> None:
    if not 1 <= mask.page <= pages:
        raise _refused(f"Page {mask.page} is not in this paper of {pages} page(s).")
    if not all(math.isfinite(v) and 0 <= v <= 1 for v in mask.box):
        raise _refused("x, y, w and h are fractions of the page, from 0 to 1.")
    if mask.w <= 0 or mask.h <= 0:
        raise _refused("A mask has a width and a height above 0.")
    if mask.x + mask.w > 1 + _SLACK or mask.y + mask.h > 1 + _SLACK:
        raise _refused("A mask lies within its page: x + w and y + h are at most 1.")


def from_json(text: str) -> dict[uuid.UUID, list[Mask]]:
    """Masks as a page's form sends them: `{document_id: [{page, x, y, w, h}]}` in JSON."""
    if not text.strip():
        return {}
    try:
        raw = json.loads(text)
        if not isinstance(raw, dict):
            raise ValueError
        return {uuid.UUID(key): [_mask(item) for item in items] for key, items in raw.items()}
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError):
        raise _refused(
            "Masks are {document_id: [{page, x, y, w, h}]}, with numbers for each."
        ) from None


def _mask(item: object) -> Mask:
    if not isinstance(item, dict) or isinstance(item.get("page"), bool):
        raise ValueError
    page = item["page"]
    if not isinstance(page, int):
        raise ValueError
    values = [item[k] for k in ("x", "y", "w", "h")]
    if any(isinstance(v, bool) or not isinstance(v, int | float) for v in values):
        raise ValueError
    return Mask(page, *(float(v) for v in values))


def dump(masks: Sequence[Mask]) -> str | None:
    return json.dumps([asdict(m) for m in masks], separators=(",", ":")) if masks else None


def load(stored: str | None) -> list[Mask]:
    return [Mask(**item) for item in json.loads(stored)] if stored else []


def by_page(masks: Sequence[Mask]) -> dict[int, list[tuple[float, float, float, float]]]:
    """Plain tuples, to cross into the sandbox."""
    pages: dict[int, list[tuple[float, float, float, float]]] = {}
    for mask in masks:
        pages.setdefault(mask.page, []).append(mask.box)
    return pages


def maskable(view: documents.DocumentView, *, max_bytes: int) -> bool:
    return view.size <= max_bytes and (view.content_type != PDF or view.pages <= MAX_PAGES)


def page_preview(
    session: Session, backend: Backend, *, owner: Citizen, document_id: uuid.UUID, page: int
) -> bytes:
    """A page of the citizen's own PDF, screen-sized, to draw masks on."""
    content = documents.open_content(session, backend, owner=owner, document_id=document_id)
    if content.content_type != PDF:
        raise InvalidInput("Only a PDF's pages are rendered; a photo is shown as it is.")
    if content.size > backend.limits.max_image_bytes:
        raise _refused("This paper is too large to be masked.")
    if not 1 <= page <= MAX_PAGES:
        raise InvalidInput(f"Pages 1 to {MAX_PAGES} can be masked.", field="page")
    data = b"".join(content.chunks())
    return backend.sandbox.run(masking.page_image, data, page)


def _refused(detail: str) -> InvalidInput:
    return InvalidInput(detail, field="masks")
