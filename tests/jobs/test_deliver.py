"""One `deliver` job, run by hand: sent once and recorded; a failure before the record leaves the
delivery pending for the queue's retry, under the same event id; a refusal ends it as failed;
a connection the database dropped between the read and the record is replaced."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlmodel import select

from tests.conftest import Stack
from tests.support import jobs
from tests.support.sinks import WebhookReceiver
from vault import db
from vault.accounts import citizens
from vault.jobs import tasks
from vault.jobs.work import Work
from vault.kit import days
from vault.notices import contacts, texts
from vault.notices.channels import ChannelError
from vault.notices.models import Delivery, DeliveryState, Medium
from vault.settings import Settings

on_both = pytest.mark.parametrize(
    "stack", [Stack("sqlite", "file"), Stack("postgresql", "file")], indirect=True, ids=str
)
# SQLite keeps no connection between statements: there is none to drop.
on_postgres = pytest.mark.parametrize(
    "stack", [Stack("postgresql", "file")], indirect=True, ids=str
)
PHONE = "0905123456"


@pytest.fixture
def work(app: FastAPI, settings: Settings, receiver: WebhookReceiver) -> Iterator[Work]:
    wired = jobs.wired(settings, receiver)
    work = Work.from_settings(wired, engine=app.state.engine, keyring=app.state.backend.keyring)
    yield work
    work.connections.close()


@pytest.fixture
def delivery(work: Work) -> uuid.UUID:
    """A notice to a citizen with a phone on file and the gateway on: one webhook delivery."""
    with db.unit_of_work(work.engine) as session:
        citizen = citizens.register(
            session,
            work.keyring,
            national_id_number="001090000001",
            full_name="Lê Thị Hoa",
            password=None,
            phone=PHONE,
        )
        contacts.update(session, work.keyring, citizen.id, webhook_on=True)
        notice = texts.paper_expired(uuid.uuid4(), "Hộ chiếu phổ thông", days.today())
        citizens.announce(session, work.keyring, citizen.id, notice)
    (only,) = _deliveries(work)
    return only.id


def _deliveries(work: Work) -> list[Delivery]:
    with db.unit_of_work(work.engine, writes=False) as session:
        return list(session.exec(select(Delivery)).all())


@on_both
def test_a_delivery_is_posted_once_and_recorded_sent(
    work: Work, delivery: uuid.UUID, receiver: WebhookReceiver
) -> None:
    # As in a worker just started: the citizen's key is read through the job's own connection.
    work.keyring.forget(_deliveries(work)[0].citizen_id)
    tasks.deliver(work, str(delivery))
    tasks.deliver(work, str(delivery))  # a repeat of a job done: reads, sends nothing

    (posted,) = receiver.delivered
    payload = posted.json()
    assert (payload["event_id"], payload["phone"], payload["email"]) == (str(delivery), PHONE, None)
    assert payload["kind"] == "paper_expired" and "Hộ chiếu phổ thông" in payload["body"]
    (row,) = _deliveries(work)
    assert (row.state, row.attempts, row.last_error) == (DeliveryState.SENT, 1, None)
    assert row.sent_at is not None


@on_both
def test_a_delivery_made_by_a_vault_older_than_its_schema_is_sent_not_a_crash(
    work: Work, delivery: uuid.UUID, receiver: WebhookReceiver
) -> None:
    """An upgrade runs migration 0022 while the old processes are still up: what they make
    has no sealed destination. It goes where that vault's job would have sent it (the
    gateway, with the citizen's confirmed email; the profile's phone is not the job's to read)."""
    with work.engine.begin() as connection:
        connection.execute(text("UPDATE delivery SET sealed_to = NULL"))
    tasks.deliver(work, str(delivery))
    (posted,) = receiver.delivered
    assert (posted.json()["event_id"], posted.json()["phone"]) == (str(delivery), None)
    (row,) = _deliveries(work)
    assert row.state == DeliveryState.SENT


@on_both
def test_a_helper_s_phone_gets_its_code_and_not_the_citizen_s_phone(
    work: Work, delivery: uuid.UUID, receiver: WebhookReceiver
) -> None:
    citizen = _deliveries(work)[0].citizen_id
    with db.unit_of_work(work.engine) as session:
        helper = contacts.add_helper(
            session, work.keyring, citizen, medium=Medium.PHONE, address="0912000111", name="Minh"
        )
    (code,) = [d for d in _deliveries(work) if d.contact_id == helper.id]

    tasks.deliver(work, str(code.id))

    (posted,) = receiver.delivered
    payload = posted.json()
    assert (payload["kind"], payload["phone"], payload["email"]) == ("verify", "0912000111", None)
    assert payload["title"] == texts.CODE_TITLE and "Minh" not in posted.body.decode()


@on_both
# 401 and 404: a rotated secret or a moved route, the vault's or the gateway's to fix, not the
# notice's fault.
@pytest.mark.parametrize("status", [503, 401, 404])
def test_a_gateway_that_fails_leaves_it_pending_and_the_retry_sends_the_same_event(
    work: Work, delivery: uuid.UUID, receiver: WebhookReceiver, status: int
) -> None:
    receiver.fail_next(1, status)
    with pytest.raises(ChannelError):
        tasks.deliver(work, str(delivery))  # raised: the queue retries it later

    (row,) = _deliveries(work)
    assert (row.state, row.attempts, row.sent_at) == (DeliveryState.PENDING, 1, None)
    assert row.last_error == "not reached; will retry"

    tasks.deliver(work, str(delivery))
    assert [r.json()["event_id"] for r in receiver.received] == [str(delivery)] * 2
    (row,) = _deliveries(work)
    assert (row.state, row.attempts) == (DeliveryState.SENT, 2)


@on_both
def test_a_refusing_gateway_fails_it_for_good(
    work: Work, delivery: uuid.UUID, receiver: WebhookReceiver
) -> None:
    receiver.fail_next(1, 400)
    tasks.deliver(work, str(delivery))  # not raised: trying again cannot help
    tasks.deliver(work, str(delivery))

    assert len(receiver.received) == 1
    (row,) = _deliveries(work)
    assert (row.state, row.last_error) == (DeliveryState.FAILED, "refused by the receiving side")


@on_both
def test_a_job_that_breaks_before_its_record_leaves_it_pending(
    work: Work, delivery: uuid.UUID, receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    def posted_then_broke(*args: object) -> None:
        raise RuntimeError("the worker broke after the post")

    monkeypatch.setattr(tasks, "_send", posted_then_broke)
    with pytest.raises(RuntimeError):
        tasks.deliver(work, str(delivery))

    (row,) = _deliveries(work)
    assert (row.state, row.attempts, row.sent_at) == (DeliveryState.PENDING, 0, None)


@on_postgres
def test_a_connection_dropped_during_the_post_is_replaced_for_the_record(
    work: Work, delivery: uuid.UUID, receiver: WebhookReceiver
) -> None:
    with work.connections.connection() as connection:
        pid = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()

    def drop_the_job_s_connection(_received: object) -> int:
        # A statement each: PostgreSQL shows pg_stat_activity as it was when a transaction began.
        with work.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            while other.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
            ).scalar_one():
                other.execute(text("SELECT pg_sleep(0.02)"))
        return 200

    receiver.respond = drop_the_job_s_connection
    tasks.deliver(work, str(delivery))

    assert len(receiver.delivered) == 1
    (row,) = _deliveries(work)
    assert row.state is DeliveryState.SENT
