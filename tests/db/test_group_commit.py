"""Group commit: concurrent callers share transactions, each gets its own outcome, one caller's
trouble is not the others', and nothing is acknowledged that did not commit."""

import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, text

from vault import db
from vault.db import group_commit
from vault.kit.errors import Gone

CALLERS = 24


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'group.db'}")
    with db.unit_of_work(engine) as session:
        session.execute(text("CREATE TABLE item (n INTEGER PRIMARY KEY)"))
        session.execute(text("INSERT INTO item VALUES (-1)"))
    return engine


def _together(
    engine: Engine, apply: group_commit.Apply[int], *, one_statement: bool = False
) -> dict[int, BaseException | None]:
    group = group_commit.for_engine(engine, apply, one_statement=one_statement)
    outcomes: dict[int, BaseException | None] = {}
    start = threading.Barrier(CALLERS)

    def caller(n: int) -> None:
        start.wait()
        try:
            group.submit(engine, n)
            outcomes[n] = None
        except BaseException as error:
            outcomes[n] = error

    threads = [threading.Thread(target=caller, args=(n,)) for n in range(CALLERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcomes


def _stored(engine: Engine) -> set[int]:
    with db.unit_of_work(engine, writes=False) as session:
        return {n for (n,) in session.execute(text("SELECT n FROM item WHERE n >= 0"))}


def test_callers_share_transactions_and_each_gets_its_own_outcome(engine: Engine) -> None:
    batches: list[int] = []
    arrived = threading.Event()

    def apply(session: Session, items: Sequence[int]) -> list[Exception | None]:
        batches.append(len(items))
        if len(batches) == 1:
            arrived.wait(2)  # the first leader holds on while the others queue up
        for n in items:
            session.execute(text("INSERT INTO item VALUES (:n)"), {"n": n})
        return [Gone("odd", reason="used_up") if n % 2 else None for n in items]

    group = group_commit.for_engine(engine, apply)
    threading.Timer(0.5, arrived.set).start()
    outcomes = _together(engine, apply)

    assert sorted(outcomes) == list(range(CALLERS))
    assert all(isinstance(outcomes[n], Gone) for n in range(1, CALLERS, 2))
    assert all(outcomes[n] is None for n in range(0, CALLERS, 2))
    assert _stored(engine) == set(range(CALLERS))
    assert sum(batches) == CALLERS and len(batches) < CALLERS // 2
    assert group_commit.for_engine(engine.execution_options(immediate=True), apply) is group


def test_one_item_that_breaks_the_transaction_fails_alone_and_stores_nothing(
    engine: Engine,
) -> None:
    def apply(session: Session, items: Sequence[int]) -> list[Exception | None]:
        for n in items:
            session.execute(text("INSERT INTO item VALUES (:n)"), {"n": n})
        if 7 in items:
            session.execute(text("INSERT INTO item VALUES (-1)"))  # a primary-key clash
        return [None] * len(items)

    outcomes = _together(engine, apply)

    assert len(outcomes) == CALLERS
    assert outcomes[7] is not None
    assert all(outcomes[n] is None for n in range(CALLERS) if n != 7)
    assert _stored(engine) == set(range(CALLERS)) - {7}


def test_a_wrong_apply_never_leaves_a_caller_waiting(engine: Engine) -> None:
    def apply(session: Session, items: Sequence[int]) -> list[Exception | None]:
        return []

    outcomes = _together(engine, apply)

    assert len(outcomes) == CALLERS
    assert all(isinstance(outcomes[n], RuntimeError) for n in range(CALLERS))


def test_a_batch_whose_commit_reply_is_lost_is_not_applied_again(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The commit reached the database but its answer did not come back (a connection cut at
    that moment — a fault only a stand-in can cause): applying the items again one by one would
    count each use twice. The callers are told it failed instead."""
    applied: list[int] = []
    original = Session.commit
    lost = threading.Event()

    batch: list[int] = []

    def commit_then_lose_the_reply(session: Session) -> None:
        original(session)
        if len(batch) > 1 and not lost.is_set():
            lost.set()
            raise OperationalError("COMMIT", {}, Exception("server closed the connection"))

    def apply(session: Session, items: Sequence[int]) -> list[Exception | None]:
        batch[:] = items
        if len(applied) == 0:
            time.sleep(0.3)  # the others queue up behind the first leader
        applied.extend(items)
        for n in items:
            session.execute(text("INSERT INTO item VALUES (:n)"), {"n": n})
        return [None] * len(items)

    monkeypatch.setattr(Session, "commit", commit_then_lose_the_reply)
    outcomes = _together(engine, apply)

    assert len(outcomes) == CALLERS and len(applied) == CALLERS == len(set(applied))
    told = {n for n, outcome in outcomes.items() if isinstance(outcome, OperationalError)}
    assert (
        lost.is_set() and told and all(outcomes[n] is None for n in range(CALLERS) if n not in told)
    )
    assert _stored(engine) == set(range(CALLERS))


def test_a_one_statement_batch_whose_connection_is_lost_is_not_applied_again(
    engine: Engine,
) -> None:
    """A batch made of one statement that commits by itself (PostgreSQL's autocommit): a
    connection lost while it ran may have committed it, as a lost commit reply may. Its callers
    are told it failed, and its items are not applied again one by one."""
    applied: list[int] = []
    lost = threading.Event()

    def apply(session: Session, items: Sequence[int]) -> list[Exception | None]:
        if len(applied) == 0:
            time.sleep(0.3)  # the others queue up behind the first leader
        applied.extend(items)
        if len(items) > 1 and not lost.is_set():
            lost.set()
            raise OperationalError(
                "SELECT", {}, Exception("server closed the connection"), connection_invalidated=True
            )
        return [None] * len(items)

    outcomes = _together(engine, apply, one_statement=True)

    assert len(outcomes) == CALLERS and len(applied) == CALLERS == len(set(applied))
    told = {n for n, outcome in outcomes.items() if isinstance(outcome, OperationalError)}
    assert lost.is_set() and len(told) > 1
    assert all(outcomes[n] is None for n in range(CALLERS) if n not in told)


def test_callers_with_many_items_each_get_every_outcome_in_order(engine: Engine) -> None:
    """Batches gathered by their callers (the agency downloads of one event loop) join the queue
    beside single items, and one larger than a batch still ends: the lead passes to its own
    next item."""
    batches: list[list[int]] = []

    def apply(session: Session, items: Sequence[int]) -> list[Exception | None]:
        batches.append(list(items))
        for n in items:
            session.execute(text("INSERT INTO item VALUES (:n)"), {"n": n})
        return [Gone("odd", reason="used_up") if n % 2 else None for n in items]

    group = group_commit.for_engine(engine, apply)
    sizes = [150, 1, 30, 1, 7, 1, 64, 1]
    starts = [sum(sizes[:i]) for i in range(len(sizes))]
    outcomes: dict[int, list[Exception | None]] = {}
    start = threading.Barrier(len(sizes))

    def caller(first: int, size: int) -> None:
        start.wait()
        outcomes[first] = group.submit_all(engine, range(first, first + size))

    threads = [
        threading.Thread(target=caller, args=pair) for pair in zip(starts, sizes, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    everything = range(sum(sizes))
    assert sorted(outcomes) == starts
    for first, size in zip(starts, sizes, strict=True):
        mine = outcomes[first]
        assert len(mine) == size
        assert all((mine[i] is None) == ((first + i) % 2 == 0) for i in range(size))
    assert sorted(n for batch in batches for n in batch) == list(everything)
    assert max(len(batch) for batch in batches) <= 64
    assert _stored(engine) == set(everything)
    assert group.submit_all(engine, []) == []
