"""The queue and the notices' deliveries on /metrics, read at each scrape from the database,
so every server process reports the same figures."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine
from sqlmodel import func, select

from vault import db
from vault.jobs import runner
from vault.notices.models import Delivery
from vault.settings import Settings


class JobsCollector(Collector):
    def __init__(self, engine: Engine, settings: Settings) -> None:
        self._engine = engine
        self._settings = settings

    def collect(self) -> Iterator[GaugeMetricFamily]:
        jobs = GaugeMetricFamily(
            "vault_jobs", "Jobs in the queue by state (failed: failed for good)", labels=["state"]
        )
        counts = runner.counts(self._engine, self._settings)
        for state in ("todo", "doing", "failed"):
            jobs.add_metric([state], counts.get(state, 0))
        yield jobs
        deliveries = GaugeMetricFamily(
            "vault_notice_deliveries",
            "Notice deliveries by channel and state",
            labels=["channel", "state"],
        )
        with db.unit_of_work(self._engine, writes=False) as session:
            rows = session.exec(
                select(Delivery.channel, Delivery.state, func.count()).group_by(
                    Delivery.channel, Delivery.state
                )
            ).all()
        for channel, state, count in rows:
            deliveries.add_metric([str(channel), str(state)], count)
        yield deliveries
