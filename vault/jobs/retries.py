"""One retry policy for both queues: doubling delays from the first, then failed for good."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

# Eight runs in all: with the default first delay of 30 s, a gateway down for an hour is
# waited out (30 s + 1 + 2 + 4 + 8 + 16 + 32 min).
RETRIES = 7


def delay(first_seconds: float, attempts: int) -> timedelta:
    """Before the run after `attempts` failed ones."""
    return timedelta(seconds=first_seconds * 2 ** max(attempts - 1, 0))


@dataclass
class Tally:
    """What this process's runs came to: `--burst` exits non-zero if a job failed for good."""

    failed_for_good: int = 0
    ran: int = 0
