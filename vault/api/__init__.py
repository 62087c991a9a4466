"""HTTP only: routers, dependencies, error rendering. No rule lives here."""

from fastapi import APIRouter

from vault.api import (
    agency,
    agency_dossiers,
    auth,
    citizens,
    document_types,
    documents,
    dossiers,
    grants,
    notifications,
    problems,
    procedures,
    stats,
)
from vault.api.errors import add_error_handlers

router = APIRouter(prefix="/api/v1", responses=problems.RESPONSES)
for module in (
    auth,
    citizens,
    document_types,
    documents,
    grants,
    agency,
    procedures,
    dossiers,
    agency_dossiers,
    stats,
    notifications,
):
    router.include_router(module.router)

__all__ = ["add_error_handlers", "router"]
