"""Audit checkpoints in the store: under S3 object lock (compliance mode) where the bucket has
it, so even the vault's own credentials cannot delete them; stored plainly elsewhere."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from minio.error import S3Error

from storage import FileStore, S3Store, put_retained, read_range
from tests.support.seaweed import S3Server

KEY = "audit-checkpoint-0123456789abcdef"
NOTE = b"vault.test/audit\n1\nAAAA\n"


def _store(server: S3Server, *, locked: bool) -> S3Store:
    bucket = f"test-{secrets.token_hex(6)}"
    server.client().make_bucket(bucket, object_lock=locked)
    return S3Store(
        endpoint=server.endpoint,
        access_key=server.access_key,
        secret_key=server.secret_key,
        bucket=bucket,
    )


def test_a_bucket_with_object_lock_keeps_the_checkpoint_for_good(s3_server: S3Server) -> None:
    store = _store(s3_server, locked=True)
    until = datetime.now(UTC) + timedelta(days=1)
    assert put_retained(store, KEY, NOTE, until) is True
    assert read_range(store, KEY, 0, len(NOTE)) == NOTE
    client = s3_server.client()
    retention = client.get_object_retention(store.bucket, KEY)
    assert retention is not None and retention.mode == "COMPLIANCE"
    version = client.stat_object(store.bucket, KEY).version_id
    with pytest.raises(S3Error) as refused:
        client.remove_object(store.bucket, KEY, version_id=version)
    assert refused.value.code == "AccessDenied"


def test_a_bucket_without_object_lock_stores_it_plainly(s3_server: S3Server) -> None:
    store = _store(s3_server, locked=False)
    assert put_retained(store, KEY, NOTE, datetime.now(UTC) + timedelta(days=1)) is False
    assert read_range(store, KEY, 0, len(NOTE)) == NOTE


def test_the_file_store_stores_it_plainly(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "blobs")
    assert put_retained(store, KEY, NOTE, datetime.now(UTC)) is False
    assert read_range(store, KEY, 0, len(NOTE)) == NOTE
