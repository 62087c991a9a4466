"""HTTP only: routers, dependencies, error rendering. No rule lives here."""

from fastapi import APIRouter

from vault.api import (
    agency,
    agency_dossiers,
    assist,
    audit,
    auth,
    certifications,
    citizens,
    delegations,
    document_types,
    documents,
    dossiers,
    grants,
    notifications,
    officer,
    procedures,
    reading,
    recovery,
    stats,
    uploads,
)
from vault.api.errors import add_error_handlers

router = APIRouter(prefix="/api/v1")
for module in (
    auth,
    citizens,
    document_types,
    documents,
    uploads,
    reading,
    grants,
    agency,
    procedures,
    dossiers,
    agency_dossiers,
    stats,
    notifications,
    officer,
    assist,
    certifications,
    recovery,
    delegations,
    audit,
):
    router.include_router(module.router)

__all__ = ["add_error_handlers", "router"]
