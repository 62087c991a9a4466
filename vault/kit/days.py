"""The calendar papers live by: Vietnam's. A paper issued today in Đà Nẵng is not "in the
future", and one that expired yesterday there is expired, whatever zone the server runs in
(containers run in UTC, seven hours behind). Vietnam keeps UTC+7 all year."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

VIETNAM = timezone(timedelta(hours=7), "ICT")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def today() -> date:
    return datetime.now(VIETNAM).date()


def parse(value: str) -> date:
    """YYYY-MM-DD only, the one form every page and form asks for: `date.fromisoformat` also
    takes 19940502 and 1994-W18-1, which a date input on a page shows as empty (and the next
    save would erase). ValueError otherwise."""
    if not _DAY.fullmatch(value):
        raise ValueError(f"not a YYYY-MM-DD date: {value!r}")
    return date.fromisoformat(value)


# A paper's dates, a person's birth included: read off a photo or typed, anything outside is a
# misreading or mischief, and the arithmetic on them (a validity added, a milestone birthday)
# must stay inside what `date` holds.
FIRST_YEAR, LAST_YEAR = 1900, 2200


def plausible(day: date) -> bool:
    return FIRST_YEAR <= day.year <= LAST_YEAR
