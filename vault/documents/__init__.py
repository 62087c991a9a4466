"""A citizen's papers: storing, listing, reading, replacing and shredding them, and the papers
agencies issue into the vault."""

from vault.documents.forms import DetailsForm
from vault.documents.issued import Issuer, SignatureView, signature_of
from vault.documents.reading import (
    Content,
    DocumentView,
    content_of,
    current_versions_of,
    describe,
    get,
    list_documents,
    list_versions,
    open_content,
    owned_by,
    thumbnail,
    version_row,
    view,
)
from vault.documents.writing import add_version, delete, shred, upload

__all__ = [
    "Content",
    "DetailsForm",
    "DocumentView",
    "Issuer",
    "SignatureView",
    "add_version",
    "content_of",
    "current_versions_of",
    "delete",
    "describe",
    "get",
    "list_documents",
    "list_versions",
    "open_content",
    "owned_by",
    "shred",
    "signature_of",
    "thumbnail",
    "upload",
    "version_row",
    "view",
]
