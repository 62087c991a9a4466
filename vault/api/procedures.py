from __future__ import annotations

from fastapi import APIRouter

from vault.api.deps import SessionDep
from vault.api.schemas import ProcedurePublic
from vault.catalog import procedures

router = APIRouter(prefix="/procedures", tags=["dossiers"])


@router.get("", response_model=list[ProcedurePublic])
def list_procedures(session: SessionDep) -> list[ProcedurePublic]:
    return [ProcedurePublic.of(spec) for spec in procedures.list_all(session)]


@router.get("/{code}", response_model=ProcedurePublic)
def read_procedure(code: str, session: SessionDep) -> ProcedurePublic:
    return ProcedurePublic.of(procedures.get(session, code))
