"""The vault's "today" is Vietnam's, whatever zone the server's clock is set to."""

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.support import files
from tests.support.api import register, upload
from vault.kit import days


@pytest.fixture
def far_west(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The server's clock in UTC-12: its local date is a day behind Vietnam's most of the day."""
    monkeypatch.setenv("TZ", "Etc/GMT+12")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_today_is_vietnams_date(far_west: None) -> None:
    assert days.today() == (datetime.now(UTC) + timedelta(hours=7)).date()


def test_a_paper_issued_today_in_vietnam_is_not_in_the_future(
    far_west: None, client: TestClient
) -> None:
    citizen = register(client)
    issued = str(days.today())
    stored = upload(client, citizen, ("a.pdf", files.pdf()), doc_type="XNTTHN", issued_on=issued)
    assert stored.status_code == 201, stored.text
    assert stored.json()["issued_on"] == issued


@pytest.mark.parametrize(
    "typed", ["19940502", "1994-W18-1", "1994-5-2", "02/05/1994", "1994-02-30"]
)
def test_a_date_is_written_one_way(typed: str) -> None:
    with pytest.raises(ValueError):
        days.parse(typed)
    assert days.parse("1994-05-02").isoformat() == "1994-05-02"


def test_a_paper_date_written_another_way_is_refused(client: TestClient) -> None:
    citizen = register(client)
    refused = upload(client, citizen, ("a.pdf", files.pdf()), issued_on="20200101")
    assert refused.status_code == 422 and refused.json()["field"] == "issued_on"
