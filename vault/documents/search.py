"""Finding a citizen's papers by the words on them, with no index at all.

At query time the owner's titles, numbers, type names and OCR texts are unsealed and folded
(no accents, no case, đ as d) and every word of the query must begin a word of one paper. A
citizen holds tens to hundreds of papers, so this costs milliseconds, and nothing that could
be searched — not even a keyed token of a word — is ever written anywhere."""

from __future__ import annotations

from sqlmodel import Session, col

from vault.accounts.models import Citizen
from vault.blobs.backend import Backend
from vault.catalog import document_types
from vault.documents import recognition
from vault.documents.models import Document
from vault.documents.reading import DocumentView, current_versions_of, describe
from vault.documents.recognition.words import matches_all, words

MAX_QUERY = 200


def search(
    session: Session,
    backend: Backend,
    *,
    owner: Citizen,
    query: str,
    doc_type: str | None = None,
) -> list[DocumentView]:
    wanted = words(query[:MAX_QUERY])
    rows = current_versions_of(owner)
    if doc_type is not None:
        rows = rows.where(Document.doc_type == document_types.document_type(doc_type).code)
    found = []
    for document, version in session.exec(rows.order_by(col(Document.updated_at).desc())).all():
        view = describe(session, backend, document, version)
        kind = document_types.document_types().get(view.doc_type)
        labels = " ".join(filter(None, (view.title, view.number, kind.name_vi if kind else None)))
        if matches_all(wanted, labels) or matches_all(
            wanted, labels + " " + recognition.text_of(session, backend, document, version)
        ):
            found.append(view)
    return found
