"""The calendar papers live by: Vietnam's. A paper issued today in Đà Nẵng is not "in the
future", and one that expired yesterday there is expired, whatever zone the server runs in
(containers run in UTC, seven hours behind). Vietnam keeps UTC+7 all year."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

VIETNAM = timezone(timedelta(hours=7), "ICT")


def today() -> date:
    return datetime.now(VIETNAM).date()
