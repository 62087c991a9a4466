"""Rewrapping every citizen key, the index key and the agencies' keys under the current master
version: after `vault keys rotate` (as a job) or by hand (`vault keys rewrap`). Batch by batch,
each batch committed, so an interrupted run loses nothing and the next one goes on where it
stopped."""

from __future__ import annotations

from sqlalchemy import Engine

from vault import db
from vault.crypto import MasterKeyError
from vault.keys import checks
from vault.keys.keyring import Keyring


def rewrap_all(engine: Engine, ring: Keyring) -> int:
    """The number of citizen keys rewrapped. The key file is surveyed first: a run that went on
    with a version missing or wrong would record check values for what it holds and wrap the
    data under it, vouching for a key the rest of the vault does not have."""
    with db.unit_of_work(engine) as session:
        master = ring.master
        failing = checks.survey(session, master).failing
        if failing:
            versions = ", ".join(f"v{v.version} is {v.state}" for v in failing)
            raise MasterKeyError(
                f"master key {versions} in the key file (`vault keys status` tells more): "
                "nothing was recorded or rewrapped"
            )
        checks.record(session, master)
    count = 0
    while True:
        with db.unit_of_work(engine) as session:
            step = ring.rewrap_batch(session)
        count += step.updated
        if not step.found:
            return count
