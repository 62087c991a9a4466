"""The S3 store while its server is dead, dies mid-transfer or hangs, against a SeaweedFS of these
tests' own: every call gives up with StoreUnavailable within its deadline, and the same store
object works again as soon as the server is back."""

import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest

from storage import BlobNotFound, S3Store, StoreUnavailable, put_bytes, read_range
from tests.support.seaweed import SeaweedFS

pytestmark = pytest.mark.servers

# The store gives up within 10 s; this only tells a hang from a loaded 2-core machine.
HANG_GUARD = 20.0
MIB = 1 << 20


@pytest.fixture(scope="module")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    weed = SeaweedFS(tmp_path_factory.mktemp("seaweedfs-outages"))
    weed.start()
    try:
        yield weed
    finally:
        if weed.running:
            weed.kill()  # its data is thrown away, and SIGTERM sometimes hangs it after a restart


@pytest.fixture
def store(seaweed: SeaweedFS) -> Iterator[S3Store]:
    s3 = S3Store(
        endpoint=seaweed.server.endpoint,
        access_key=seaweed.server.access_key,
        secret_key=seaweed.server.secret_key,
        bucket=f"test-{secrets.token_hex(6)}",
    )
    s3.ensure_bucket()
    yield s3
    seaweed.revive()


def _key() -> str:
    return secrets.token_hex(16)


@contextmanager
def _gives_up() -> Iterator[None]:
    started = time.monotonic()
    with pytest.raises(StoreUnavailable):
        yield
    took = time.monotonic() - started
    assert took < HANG_GUARD, f"gave up only after {took:.1f} s"


def _stream(store: S3Store, key: str, size: int, midway: Callable[[], None] = lambda: None) -> None:
    """`size` bytes in 1 MiB writes, as the vault streams a paper; `midway` runs at 20 MiB."""
    chunk = os.urandom(MIB)
    with store.writer(key) as sink:
        for offset in range(0, size, MIB):
            if offset == 20 * MIB:
                midway()
            sink.write(chunk)


def _threads_settle(baseline: int) -> int:
    deadline = time.monotonic() + HANG_GUARD
    while threading.active_count() > baseline and time.monotonic() < deadline:
        time.sleep(0.05)
    return threading.active_count()


def test_a_dead_store_fails_every_call_and_the_same_store_works_once_it_is_back(
    seaweed: SeaweedFS, store: S3Store
) -> None:
    kept, data = _key(), os.urandom(3 * MIB)
    put_bytes(store, kept, data)
    threads = threading.active_count()
    seaweed.kill()
    with _gives_up():
        put_bytes(store, _key(), b"small")
    with _gives_up():
        _stream(store, _key(), 12 * MIB)
    with _gives_up():
        read_range(store, kept, 0, len(data))
    with _gives_up():
        read_range(store, kept, MIB, 100)
    with _gives_up():
        store.delete(kept)
    with _gives_up():
        list(store.iter_blobs())
    with _gives_up():
        store.check()
    with _gives_up():
        store.abort_incomplete(datetime.now(UTC))
    assert _threads_settle(threads) <= threads

    seaweed.start()
    store.check()
    assert read_range(store, kept, 0, len(data)) == data
    again = _key()
    _stream(store, again, 12 * MIB)
    assert {blob.key: blob.size for blob in store.iter_blobs()}[again] == 12 * MIB
    store.delete(kept)
    with pytest.raises(BlobNotFound):
        read_range(store, kept, 0, 1)


def test_a_store_dying_mid_upload_fails_it_and_leaves_nothing_readable(
    seaweed: SeaweedFS, store: S3Store
) -> None:
    key, threads = _key(), threading.active_count()
    with _gives_up():
        _stream(store, key, 50 * MIB, midway=seaweed.kill)
    assert _threads_settle(threads) <= threads

    seaweed.start()
    with pytest.raises(BlobNotFound):
        read_range(store, key, 0, 1)
    assert key not in {blob.key for blob in store.iter_blobs()}
    # The dead server could not abort the multipart upload; `vault storage gc` does.
    assert store.abort_incomplete(datetime.now(UTC)) == 1
    _stream(store, key, 50 * MIB)
    assert {blob.key: blob.size for blob in store.iter_blobs()}[key] == 50 * MIB


def test_a_store_dying_mid_download_fails_the_read(seaweed: SeaweedFS, store: S3Store) -> None:
    key, data = _key(), os.urandom(50 * MIB)
    put_bytes(store, key, data)
    with store.reader(key) as source:
        assert source.read(MIB) == data[:MIB]
        seaweed.kill()
        with _gives_up():
            while source.read(MIB):
                pass

    seaweed.start()
    assert read_range(store, key, 0, len(data)) == data


def test_a_hung_store_fails_calls_within_the_deadline_and_works_once_it_answers(
    seaweed: SeaweedFS, store: S3Store
) -> None:
    """Frozen, the server still accepts connections: only the client's deadlines end a call."""
    kept, data = _key(), os.urandom(MIB)
    put_bytes(store, kept, data)
    threads = threading.active_count()
    with _gives_up():
        _stream(store, _key(), 50 * MIB, midway=seaweed.pause)
    with _gives_up():
        put_bytes(store, _key(), b"small")
    with _gives_up():
        read_range(store, kept, 0, len(data))
    with _gives_up():
        store.check()
    assert _threads_settle(threads) <= threads

    seaweed.resume()
    store.check()
    assert read_range(store, kept, 0, len(data)) == data
