"""The spools a process keeps of the uploads it sealed: bounded in number and in bytes."""

from __future__ import annotations

import uuid

from vault.documents.resumable import _Spool, _Spools


def _given(spools: _Spools, size: int) -> tuple[uuid.UUID, _Spool]:
    upload_id, spool = uuid.uuid4(), _Spool()
    spool.add(b"\0" * size, [b"\0" * size])
    spools.give(upload_id, spool)
    return upload_id, spool


def test_past_the_count_the_least_recently_given_go_first() -> None:
    spools = _Spools(kept=2, most_bytes=1 << 20)
    (first, _), (second, kept), (third, newest) = (_given(spools, 10) for _ in range(3))
    assert spools.take(first, 10) is None  # evicted: its paper will be checked from the store
    assert spools.take(second, 10) is kept
    assert spools.take(third, 10) is newest


def test_past_the_byte_bound_the_oldest_go_but_the_newest_stays() -> None:
    spools = _Spools(kept=10, most_bytes=100)
    old, _ = _given(spools, 60)
    middle, middle_spool = _given(spools, 30)
    new, _ = _given(spools, 50)
    assert spools.take(old, 60) is None
    assert spools.take(middle, 30) is middle_spool
    spools.give(middle, middle_spool)
    huge, huge_spool = _given(spools, 500)  # alone past the bound: kept, the others go
    assert spools.take(new, 50) is None and spools.take(middle, 30) is None
    assert spools.take(huge, 500) is huge_spool
