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
from vault.notices.models import Delivery, DeliveryState
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
        failed = GaugeMetricFamily(
            "vault_jobs_failed", "Jobs failed for good, by task", labels=["task"]
        )
        for task, count in sorted(runner.failed_by_task(self._engine, self._settings).items()):
            failed.add_metric([task], count)
        yield failed
        waited = runner.oldest_waiting_seconds(self._engine, self._settings)
        if waited is not None or runner.on_postgres(self._settings):
            oldest = GaugeMetricFamily(
                "vault_jobs_oldest_waiting_seconds",
                "How long the oldest job due now has waited to be taken (PostgreSQL queue)",
            )
            oldest.add_metric([], waited or 0.0)
            yield oldest
        pending = GaugeMetricFamily(
            "vault_notice_oldest_pending_seconds",
            "Age of the oldest notice delivery not yet sent (both queues)",
        )
        with db.unit_of_work(self._engine, writes=False) as session:
            first = session.exec(
                select(func.min(Delivery.created_at)).where(Delivery.state == DeliveryState.PENDING)
            ).one()
        age = (db.utc_now() - db.aware(first)).total_seconds() if first else 0.0
        pending.add_metric([], max(age, 0.0))
        yield pending
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
