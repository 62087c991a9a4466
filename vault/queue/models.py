"""What the queue keeps beside the library's own tables."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from vault.db import timestamp_field


class PeriodicRun(SQLModel, table=True):
    """A periodic job enqueued for one slot (a day, an hour): at most once per slot, whoever
    asks (each worker's clock, `vault jobs run-due`)."""

    __tablename__ = "periodic_run"

    task: str = Field(primary_key=True, max_length=32)
    slot: str = Field(primary_key=True, max_length=32)
    enqueued_at: datetime = timestamp_field()
