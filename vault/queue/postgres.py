"""Jobs on PostgreSQL: procrastinate's tables, written on the caller's own connection."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from procrastinate import SyncPsycopgConnector, manager, tasks
from sqlalchemy import Connection

QUEUE = "vault"
# Only the SQL of the defer is used: the job is written on the connection handed to `defer`,
# so this connector's own pool is never opened.
_DEFERRER = manager.JobManager(SyncPsycopgConnector())


def defer(bind: Connection, name: str, args: dict[str, Any], at: datetime | None) -> None:
    driver = bind.connection.driver_connection
    tasks.configure_task(
        name=name,
        job_manager=_DEFERRER,
        queue=QUEUE,
        schedule_at=at,
        connection=driver,
    ).defer(**args)
