#!/usr/bin/env python3
"""The `worker` container's health check: exit 0 when the queue's database answers with this
container's settings and a `vault worker` has beaten its heart within three beats
(VAULT_WORKER_HEARTBEAT_SECONDS, 10 s by default) — the same rule by which live workers take
back a silent worker's jobs. A worker that dies ends its container (it is PID 1); this catches
the rest: a database it cannot reach, or workers that no longer beat."""

from __future__ import annotations

import os
import sys

import psycopg
from sqlalchemy.engine import make_url


def main() -> int:
    url = os.environ.get("VAULT_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        print("VAULT_DATABASE_URL is not a PostgreSQL URL", file=sys.stderr)
        return 1
    beat = float(os.environ.get("VAULT_WORKER_HEARTBEAT_SECONDS", "10"))
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(conninfo, connect_timeout=3) as connection:
            row = connection.execute(
                "SELECT count(*), extract(epoch FROM now() - max(last_heartbeat)) "
                "FROM procrastinate_workers "
                "WHERE last_heartbeat > now() - make_interval(secs => %s)",
                (3 * beat,),
            ).fetchone()
    except psycopg.Error as error:
        print(f"the queue's database does not answer: {type(error).__name__}", file=sys.stderr)
        return 1
    assert row is not None
    live, age = row
    if not live:
        print(f"no worker has beaten its heart within {3 * beat:g} s", file=sys.stderr)
        return 1
    print(f"{live} live workers; latest heartbeat {age:.1f} s ago")
    return 0


if __name__ == "__main__":
    sys.exit(main())
