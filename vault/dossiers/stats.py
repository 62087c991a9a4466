"""Reuse figures, the measure provinces report: of the papers attached to submitted dossiers,
how many came from the vault and how many had to be uploaded. A paper is counted once it is
attached; a dossier's row for a paper it went without is not."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, case, distinct, func
from sqlalchemy import select as sql_select
from sqlmodel import Session, col

from vault import db
from vault.catalog.models import Procedure
from vault.dossiers.models import AttachmentReason, Dossier, DossierAttachment


@dataclass(frozen=True)
class Reuse:
    procedure: str
    name: str
    submitted: int
    reused: int
    uploaded: int

    @property
    def rate(self) -> float | None:
        attached = self.reused + self.uploaded
        return self.reused / attached if attached else None


def reuse(session: Session) -> list[Reuse]:
    reused = col(DossierAttachment.reused)
    query = (
        sql_select(
            col(Procedure.code),
            col(Procedure.name),
            func.count(distinct(col(Dossier.id))),
            func.sum(case((reused.is_(True), 1), else_=0)),
            func.sum(case((reused.is_(False), 1), else_=0)),
        )
        .join(Dossier, col(Dossier.procedure_code) == Procedure.code)
        .outerjoin(
            DossierAttachment,
            (col(DossierAttachment.dossier_id) == Dossier.id)
            & (col(DossierAttachment.reason) == AttachmentReason.ATTACHED),
        )
        .where(col(Dossier.submitted_at).is_not(None))
        .group_by(col(Procedure.code), col(Procedure.name))
        .order_by(col(Procedure.code))
    )
    return [
        Reuse(code, name, int(n), int(r or 0), int(u or 0))
        for code, name, n, r, u in session.execute(query).all()
    ]


def totals(figures: list[Reuse]) -> Reuse:
    return Reuse(
        procedure="*",
        name="",
        submitted=sum(f.submitted for f in figures),
        reused=sum(f.reused for f in figures),
        uploaded=sum(f.uploaded for f in figures),
    )


class ReuseCollector:
    """Prometheus collector: read from the database at each scrape, so that every worker
    process reports the same figures. Gauges, though named as totals: they count what the
    database holds now, which a deleted paper or an erased account lowers, and a counter that
    goes down reads as a reset to Prometheus."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def collect(self):  # type: ignore[no-untyped-def]
        from prometheus_client.core import GaugeMetricFamily

        with db.unit_of_work(self._engine, writes=False) as session:
            figures = reuse(session)
        submitted = GaugeMetricFamily(
            "vault_dossiers_submitted_total", "Dossiers submitted", labels=["procedure"]
        )
        papers = GaugeMetricFamily(
            "vault_dossier_papers_total",
            "Papers attached to submitted dossiers",
            labels=["procedure", "source"],
        )
        rate = GaugeMetricFamily(
            "vault_dossier_reuse_ratio",
            "Share of attached papers reused from the vault",
            labels=["procedure"],
        )
        for figure in figures:
            submitted.add_metric([figure.procedure], figure.submitted)
            papers.add_metric([figure.procedure, "vault"], figure.reused)
            papers.add_metric([figure.procedure, "upload"], figure.uploaded)
            if figure.rate is not None:
                rate.add_metric([figure.procedure], figure.rate)
        yield submitted
        yield papers
        yield rate
