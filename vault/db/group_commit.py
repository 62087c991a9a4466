"""Group commit: concurrent requests that each need a short transaction on the same rows share
one.

An agency fetch counts a use on the grant's row and appends to the citizen's audit chain,
both of which serialise: one transaction per fetch holds those locks for four round trips
and a commit, while the thread that holds them also competes for the GIL with every other
request, so sixteen clients of one grant queue behind each other. Here the first caller
leads: it takes every item waiting, applies them in one transaction, hands each its own
outcome, and passes the lead to the next caller that arrived meanwhile. No thread of its
own, and nothing is acknowledged before its transaction has committed.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import Engine
from sqlmodel import Session

from vault import db

Item = TypeVar("Item")
# What a batch gives back per item: None when it holds, or the error its caller gets (an
# error the batch has dealt with, e.g. an audited refusal; the others still commit).
Apply = Callable[[Session, Sequence[Item]], list[Exception | None]]
_MAX_BATCH = 64


@dataclass(eq=False)
class _Waiting(Generic[Item]):
    item: Item
    woken: threading.Event = field(default_factory=threading.Event)
    leads: bool = False
    done: bool = False
    error: Exception | None = None


class GroupCommit(Generic[Item]):
    def __init__(self, apply: Apply[Item], *, one_statement: bool = False) -> None:
        self._apply = apply
        self._one_statement = one_statement
        self._lock = threading.Lock()
        self._queue: list[_Waiting[Item]] = []
        self._busy = False

    def submit(self, engine: Engine, item: Item) -> None:
        """Returns once `item` has committed; raises its error otherwise."""
        (error,) = self.submit_all(engine, [item])
        if error is not None:
            raise error

    def submit_all(self, engine: Engine, items: Sequence[Item]) -> list[Exception | None]:
        """Returns once every item has committed or failed: each one's error, or None. For a
        caller that gathered its own batch (vault.api.lean_fetch), which joins the queue as one
        and may share a transaction with the items of others."""
        mine = [_Waiting(item) for item in items]
        if not mine:
            return []
        with self._lock:
            self._queue.extend(mine)
            if not self._busy:
                self._busy = mine[0].leads = True
        # The lead passes to the queue's first item, so it reaches one of these only once every
        # item before it has been taken and committed: the one this loop waits for.
        for waiting in mine:
            while not waiting.done:
                if waiting.leads:
                    self._lead(engine)
                else:
                    waiting.woken.wait()
                    waiting.woken.clear()
        return [waiting.error for waiting in mine]

    def _lead(self, engine: Engine) -> None:
        batch: list[_Waiting[Item]] = []
        try:
            with self._lock:
                batch, self._queue = self._queue[:_MAX_BATCH], self._queue[_MAX_BATCH:]
            self._run(engine, batch)
        finally:
            for waiting in batch:
                if not waiting.done:  # only if _run itself broke: never leave a caller waiting
                    _finish(waiting, RuntimeError("the access could not be recorded"))
            with self._lock:
                if self._queue:
                    self._queue[0].leads = True
                    self._queue[0].woken.set()
                else:
                    self._busy = False

    def _run(self, engine: Engine, batch: list[_Waiting[Item]]) -> None:
        """One transaction for the batch; if it fails as a whole (a deadlock victim, a lock
        timeout, one item the apply did not foresee), each item again in its own, so that one
        caller's trouble is not everyone's."""
        try:
            outcomes = self._apply_in_transaction(engine, batch)
        except _CommitFailed as failed:
            # The commit may have reached the database: applying the items again could count
            # them twice. Each caller is told it failed; nothing is delivered on it.
            for waiting in batch:
                _finish(waiting, failed.error)
            return
        except Exception as error:
            if len(batch) == 1:
                _finish(batch[0], error)
                return
            for waiting in batch:
                self._run(engine, [waiting])
            return
        for waiting, outcome in zip(batch, outcomes, strict=True):
            _finish(waiting, outcome)

    def _apply_in_transaction(
        self, engine: Engine, batch: list[_Waiting[Item]]
    ) -> list[Exception | None]:
        applied = False
        # One statement committing by itself (see db.one_statement_each): a connection lost
        # while it ran leaves unknown whether it committed, as a lost commit does.
        opened = db.one_statement_each if self._one_statement else db.unit_of_work
        try:
            with opened(engine) as session:
                outcomes = self._apply(session, [waiting.item for waiting in batch])
                if len(outcomes) != len(batch):
                    raise RuntimeError("one outcome per item was expected")
                applied = True
        except Exception as error:
            if applied or (self._one_statement and db.lost_connection(error)):
                raise _CommitFailed(error) from error
            raise
        return outcomes


class _CommitFailed(Exception):
    """The batch was applied and its commit failed: whether it took effect is unknown."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def _finish(waiting: _Waiting[Any], error: Exception | None) -> None:
    waiting.error, waiting.done = error, True
    waiting.woken.set()


_groups: weakref.WeakKeyDictionary[Any, dict[object, GroupCommit[Any]]] = (
    weakref.WeakKeyDictionary()
)
_registry = threading.Lock()


def for_engine(
    engine: Engine, apply: Apply[Item], *, one_statement: bool = False
) -> GroupCommit[Item]:
    """The group of `apply` on this engine's connection pool (an engine with other execution
    options shares its pool, and so its group). `one_statement`: `apply` makes one statement
    of the batch, which commits by itself on PostgreSQL — no BEGIN and COMMIT round trips."""
    with _registry:
        groups = _groups.setdefault(engine.pool, {})
        group = groups.get(apply)
        if group is None:
            group = groups[apply] = GroupCommit(apply, one_statement=one_statement)
        return group
