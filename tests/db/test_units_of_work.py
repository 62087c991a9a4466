"""The clean-ups registered with a unit of work follow the outcome of the work they belong to,
including a commit in the unit's middle (a service's `end_read`, a resumable upload's part)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from vault import db


def test_a_commit_in_the_middle_lands_its_work_and_its_clean_ups(sqlite: Engine) -> None:
    ran: list[str] = []
    with pytest.raises(RuntimeError), db.unit_of_work(sqlite) as session:
        session.execute(text("INSERT INTO t VALUES (1)"))
        db.after_rollback(session, lambda: ran.append("undo the first row's store side"))
        db.after_commit(session, lambda: ran.append("after the first row"))
        session.commit()
        assert ran == ["after the first row"]
        session.execute(text("INSERT INTO t VALUES (2)"))
        db.after_rollback(session, lambda: ran.append("undo the second row's store side"))
        raise RuntimeError("the work fails after its first commit")
    assert ran == ["after the first row", "undo the second row's store side"]
    with sqlite.connect() as connection:
        assert connection.execute(text("SELECT n FROM t")).scalars().all() == [1]


def test_roll_back_undoes_since_the_last_commit_and_the_session_goes_on(sqlite: Engine) -> None:
    ran: list[str] = []
    with db.unit_of_work(sqlite) as session:
        session.execute(text("INSERT INTO t VALUES (1)"))
        db.after_rollback(session, lambda: ran.append("undo"))
        db.after_commit(session, lambda: ran.append("never: its work was undone"))
        db.roll_back(session)
        assert ran == ["undo"]
        session.execute(text("INSERT INTO t VALUES (2)"))
    assert ran == ["undo"]
    with sqlite.connect() as connection:
        assert connection.execute(text("SELECT n FROM t")).scalars().all() == [2]


def test_the_units_own_outcome_runs_its_clean_ups_once(sqlite: Engine) -> None:
    ran: list[str] = []
    with db.unit_of_work(sqlite) as session:
        session.execute(text("INSERT INTO t VALUES (1)"))
        db.after_commit(session, lambda: ran.append("committed"))
        db.after_rollback(session, lambda: ran.append("never"))
    assert ran == ["committed"]
    with pytest.raises(RuntimeError), db.unit_of_work(sqlite) as session:
        session.execute(text("INSERT INTO t VALUES (2)"))
        db.after_commit(session, lambda: ran.append("never"))
        db.after_rollback(session, lambda: ran.append("rolled back"))
        raise RuntimeError
    assert ran == ["committed", "rolled back"]
