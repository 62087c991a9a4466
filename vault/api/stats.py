from __future__ import annotations

from fastapi import APIRouter

from vault.api.deps import SessionDep
from vault.api.schemas import ProcedureStats, StatsPublic
from vault.dossiers import stats

router = APIRouter(tags=["dossiers"])


@router.get("/stats", response_model=StatsPublic)
def read_stats(session: SessionDep) -> StatsPublic:
    """Reuse figures: papers attached to submitted dossiers from the vault vs uploaded."""
    figures = stats.reuse(session)
    total = stats.totals(figures)
    return StatsPublic(
        dossiers_submitted=total.submitted,
        papers_from_vault=total.reused,
        papers_uploaded=total.uploaded,
        reuse_rate=total.rate,
        by_procedure=[
            ProcedureStats(
                procedure=f.procedure,
                name=f.name,
                dossiers_submitted=f.submitted,
                papers_from_vault=f.reused,
                papers_uploaded=f.uploaded,
                reuse_rate=f.rate,
            )
            for f in figures
        ],
    )
