"""Both blob stores against the same contract; the S3 one against a real SeaweedFS server."""

import gzip
import io
import os
import secrets
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage import (
    MIN_PART,
    BlobNotFound,
    BlobStore,
    FileStore,
    S3Store,
    StoreUnavailable,
    put_bytes,
    read_range,
)
from tests.support.seaweed import S3Server


@pytest.fixture(params=["file", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStore]:
    if request.param == "file":
        yield FileStore(tmp_path / "blobs")
        return
    yield _s3(request.getfixturevalue("s3_server"))


def _s3(server: S3Server) -> S3Store:
    """A new bucket, with parts small enough that a few MiB take several."""
    s3 = S3Store(
        endpoint=server.endpoint,
        access_key=server.access_key,
        secret_key=server.secret_key,
        bucket=f"test-{secrets.token_hex(6)}",
        part_size=5 << 20,
    )
    s3.ensure_bucket()
    return s3


def _key() -> str:
    return secrets.token_hex(16)


def test_blob_round_trip_and_range(store: BlobStore) -> None:
    key, data = _key(), os.urandom(12 << 20)  # several multipart parts on S3
    with store.writer(key) as sink:
        for i in range(0, len(data), 1 << 20):
            sink.write(data[i : i + (1 << 20)])
    assert read_range(store, key, 0, len(data)) == data
    assert read_range(store, key, 5, 100) == data[5:105]
    assert {b.key: b.size for b in store.iter_blobs()}[key] == len(data)


def test_an_object_put_together_from_parts_by_separate_store_clients(store: BlobStore) -> None:
    """A resumable upload's parts come from different requests, maybe different nodes: a new
    client of the same store goes on with the handle alone; a part sent again replaces the
    first; finishing twice finds the object; nothing is listed or readable before."""

    def another() -> BlobStore:
        if isinstance(store, FileStore):
            return FileStore(store.root)
        return _s3_like(store)

    key, first, second, last = _key(), os.urandom(MIN_PART), os.urandom(MIN_PART), b"tail"
    handle = store.begin_parts(key)
    tokens = [store.put_part(key, handle, 1, os.urandom(MIN_PART))]
    tokens[0] = another().put_part(key, handle, 1, first)
    tokens.append(another().put_part(key, handle, 2, second))
    assert key not in {blob.key for blob in store.iter_blobs()}
    assert store.abort_incomplete(datetime.now(UTC) + timedelta(hours=1), keep={key}) == 0
    tokens.append(store.put_part(key, handle, 3, last))
    another().finish_parts(key, handle, tokens)
    assert read_range(store, key, 0, 3 * MIN_PART) == first + second + last
    store.finish_parts(key, handle, tokens)  # a second consumer finds it finished
    store.abort_parts(key, handle)  # and an abort after it harms nothing
    assert read_range(store, key, MIN_PART - 2, 4) == first[-2:] + second[:2]


def test_an_aborted_assembly_is_gone(store: BlobStore) -> None:
    key = _key()
    handle = store.begin_parts(key)
    store.put_part(key, handle, 1, b"only part")
    store.abort_parts(key, handle)
    store.abort_parts(key, handle)
    with pytest.raises(BlobNotFound):
        store.put_part(key, handle, 2, b"one more")
    with pytest.raises(BlobNotFound):
        store.finish_parts(key, handle, ["9"])
    orphan = _key()
    store.put_part(orphan, store.begin_parts(orphan), 1, b"left behind")
    assert store.abort_incomplete(datetime.now(UTC) + timedelta(hours=1)) >= 1
    assert orphan not in {blob.key for blob in store.iter_blobs()}


def test_a_file_store_opened_again_keeps_every_assembly(tmp_path: Path) -> None:
    """Each process opens the store: what a killed one left in `incoming` is cleared, but an
    assembly unchanged for a day may be a live resumable upload's (one that took only a tail
    since); only `abort_incomplete` with the live ones kept may take it."""
    store = FileStore(tmp_path / "blobs")
    key = _key()
    handle = store.begin_parts(key)
    token = store.put_part(key, handle, 1, b"sent two days ago")
    leftover = tmp_path / "blobs" / "incoming" / "tmp-of-a-killed-process"
    leftover.write_bytes(b"half")
    two_days_ago = time.time() - 48 * 3600
    for path in (leftover, *(tmp_path / "blobs" / "assembling").rglob("*")):
        os.utime(path, (two_days_ago, two_days_ago))

    FileStore(tmp_path / "blobs")

    assert not leftover.exists()
    store.finish_parts(key, handle, [token])
    assert read_range(store, key, 0, 17) == b"sent two days ago"


def _s3_like(store: BlobStore) -> S3Store:
    assert isinstance(store, S3Store)
    endpoint = store.client._base_url.host
    credentials = store.client._provider.retrieve()
    return S3Store(
        endpoint=endpoint,
        access_key=credentials.access_key,
        secret_key=credentials.secret_key,
        bucket=store.bucket,
    )


def test_failed_write_leaves_no_blob(store: BlobStore) -> None:
    key = _key()
    with pytest.raises(RuntimeError), store.writer(key) as sink:
        sink.write(os.urandom(7 << 20))
        raise RuntimeError("the upload was refused half way")
    assert key not in {blob.key for blob in store.iter_blobs()}
    with pytest.raises(BlobNotFound):
        read_range(store, key, 0, 1)


def test_delete_is_idempotent(store: BlobStore) -> None:
    key = _key()
    put_bytes(store, key, b"x")
    store.delete(key)
    store.delete(key)
    with pytest.raises(BlobNotFound):
        read_range(store, key, 0, 1)


@pytest.mark.parametrize("key", ["../etc/passwd", "a/b", "short", "", "x" * 200, "abcdefgh\n"])
def test_keys_are_opaque_ids_only(store: BlobStore, key: str) -> None:
    with pytest.raises(ValueError):
        put_bytes(store, key, b"x")


def test_unreachable_s3_is_reported_as_unavailable() -> None:
    store = S3Store(
        endpoint="127.0.0.1:9", access_key="a", secret_key="b", bucket="test-nowhere", timeout=1
    )
    with pytest.raises(StoreUnavailable):
        store.check()
    with pytest.raises(StoreUnavailable), store.writer(_key()) as sink:
        sink.write(b"x" * (6 << 20))
        sink.write(b"x" * (6 << 20))


def test_a_broken_data_directory_is_the_store_failing_not_the_caller(tmp_path: Path) -> None:
    """Disk faults (no descriptors left, a read-only or damaged directory) are 503s, not 500s."""
    store = FileStore(tmp_path / "blobs")
    key = _key()
    put_bytes(store, key, b"kept")
    incoming = tmp_path / "blobs" / "incoming"
    incoming.rmdir()
    incoming.write_text("not a directory")
    with pytest.raises(StoreUnavailable), store.writer(_key()) as sink:
        sink.write(b"x")
    prefix = tmp_path / "blobs" / "objects" / key[:2]
    (prefix / key).unlink()
    prefix.rmdir()
    prefix.write_text("not a directory")
    with pytest.raises(StoreUnavailable):
        read_range(store, key, 0, 1)
    with pytest.raises(StoreUnavailable):
        store.delete(key)


def test_refused_multipart_uploads_leave_no_thread_behind(s3_server: S3Server) -> None:
    """An upload refused half way must not leave its upload thread (nor, as the SDK's parallel
    parts did, a pool) behind: anyone with an account could refuse uploads until the server has
    no threads left."""
    store = _s3(s3_server)
    before = threading.active_count()
    for _ in range(4):
        with pytest.raises(RuntimeError), store.writer(_key()) as sink:
            sink.write(os.urandom(14 << 20))
            raise RuntimeError("the upload was refused half way")
    deadline = time.monotonic() + 10
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threading.active_count() <= before


def test_an_object_is_read_as_stored_whatever_encoding_the_store_names(
    s3_server: S3Server,
) -> None:
    """The S3 store returns the stored bytes, never a decoding of them: a blob is opaque, and a
    header of the store's (or of whoever wrote the object) must not change what is read."""
    store = _s3(s3_server)
    key, data = _key(), gzip.compress(os.urandom(3 << 20) + b"\0" * (2 << 20))
    store.client.put_object(
        store.bucket, key, io.BytesIO(data), len(data), metadata={"Content-Encoding": "gzip"}
    )
    assert read_range(store, key, 0, len(data)) == data
    assert read_range(store, key, 7, 1 << 20) == data[7 : 7 + (1 << 20)]
