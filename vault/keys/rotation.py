"""Rewrapping every citizen key, the index key and the agencies' keys under the current master
version: after `vault keys rotate` (as a job) or by hand (`vault keys rewrap`). Batch by batch,
each batch committed, so an interrupted run loses nothing and the next one goes on where it
stopped."""

from __future__ import annotations

from sqlalchemy import Engine

from vault import db
from vault.keys import checks
from vault.keys.keyring import Keyring


def rewrap_all(engine: Engine, ring: Keyring) -> int:
    """The number of citizen keys rewrapped."""
    with db.unit_of_work(engine) as session:
        checks.record(session, ring.master)
    count = 0
    while True:
        with db.unit_of_work(engine) as session:
            step = ring.rewrap_batch(session)
        count += step.updated
        if not step.found:
            return count
