"""Jobs on the embedded SQLite file: huey's tables, in the vault's own database file.

huey keeps a job as a pickled message in its `task` table (`schedule` for one due later); the
message is written here through the caller's connection, so the job commits or rolls back with
the change it follows. The consumer resolves a message's name through its registry, where
`vault.jobs` registers each task under `registry_name`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from huey.registry import Message
from huey.serializer import Serializer
from sqlalchemy import Connection

QUEUE = "vault"
SERIALIZER = Serializer()
_MODULE = "vault.queue"


def registry_name(name: str) -> str:
    """huey names a registered task by its class's module and name."""
    return f"{_MODULE}.{name}"


def task_module() -> str:
    return _MODULE


def defer(bind: Connection, name: str, args: dict[str, Any], at: datetime | None) -> None:
    message = Message(id=str(uuid.uuid4()), name=registry_name(name), kwargs=args)
    if at is None:
        bind.exec_driver_sql(
            "INSERT INTO task (queue, data, priority) VALUES (?, ?, 0.0)",
            (QUEUE, SERIALIZER.serialize(message)),
        )
        return
    # huey compares naive UTC moments.
    eta = at.astimezone(UTC).replace(tzinfo=None)
    bind.exec_driver_sql(
        "INSERT INTO schedule (queue, data, timestamp) VALUES (?, ?, ?)",
        (QUEUE, SERIALIZER.serialize(message._replace(eta=eta)), eta.timestamp()),
    )
