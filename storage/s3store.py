"""Blobs in an S3 bucket through the minio SDK: MinIO, SeaweedFS, Ceph RGW or AWS S3.

Only the S3 subset every one of them implements is used: bucket create/exists,
put (single or multipart), ranged get, delete, list.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import certifi
import minio.api
import urllib3
from minio import Minio
from minio.error import MinioException, S3Error
from minio.helpers import ThreadPool
from urllib3.util import Retry, Timeout

from storage.base import (
    BlobInfo,
    BlobNotFound,
    BlobReader,
    BlobWriter,
    BlockQueue,
    StoreUnavailable,
    check_key,
)

_pools = threading.local()


class _RememberedPool(ThreadPool):
    """The SDK's part-upload pool, remembered by the thread that made it. When the stream it
    reads fails, `put_object` aborts the upload but never stops this pool, and its workers
    wait on their queue for ever: three threads lost per refused upload, which anyone with
    an account could repeat until the server runs out."""

    def __init__(self, num_threads: int) -> None:
        super().__init__(num_threads)
        _pools.current = self


minio.api.ThreadPool = _RememberedPool  # type: ignore[attr-defined]


def _stop_abandoned_pool() -> None:
    pool: ThreadPool | None = getattr(_pools, "current", None)
    _pools.current = None
    if pool is not None:
        # Sends each worker its stop and waits for them; the parts' own failures do not
        # matter, the upload is gone anyway.
        with contextlib.suppress(Exception):
            pool.result()


class _Aborted(Exception):
    """Raised inside the SDK's read so that it abandons the upload."""


class _Pipe:
    """Carries chunks from the caller's thread to the SDK's upload thread, a few at a time,
    so the upload runs while the caller still produces data and memory stays bounded."""

    def __init__(self, depth: int) -> None:
        self._blocks = BlockQueue(depth)
        self.error: BaseException | None = None

    def write(self, data: bytes, /) -> int:
        if self.error is not None:
            raise StoreUnavailable("object store upload failed") from self.error
        if data:
            self._blocks.put(bytes(data))
        return len(data)

    def close(self, error: BaseException | None = None) -> None:
        self._blocks.put(error if error is not None else b"")

    def fail(self, error: BaseException) -> None:
        """The upload thread died: keep draining so the caller never blocks on a full queue."""
        self.error = error
        self._blocks.drain()

    def read(self, size: int = -1, /) -> bytes:
        try:
            return self._blocks.read(size)
        except BaseException as error:
            raise _Aborted from error


class _Response:
    def __init__(self, response: Any) -> None:
        self._response = response

    def read(self, size: int = -1, /) -> bytes:
        try:
            return self._response.read(None if size < 0 else size)  # type: ignore[no-any-return]
        except urllib3.exceptions.HTTPError as error:
            raise StoreUnavailable("object store read failed") from error


class S3Store:
    def __init__(
        self,
        *,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        secure: bool = False,
        region: str | None = None,
        part_size: int = 5 << 20,
        parallel_parts: int = 3,
        timeout: float = 30.0,
    ) -> None:
        http = urllib3.PoolManager(
            timeout=Timeout(connect=5.0, read=timeout),
            maxsize=64,
            cert_reqs="CERT_REQUIRED",
            ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
            retries=Retry(total=3, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]),
        )
        self.client = Minio(
            endpoint,
            access_key=access_key,
            secret_key=secret_key,
            secure=secure,
            region=region,
            http_client=http,
        )
        self.bucket = bucket
        self._part_size = part_size
        self._parallel_parts = parallel_parts

    def ensure_bucket(self) -> None:
        with _translated():
            if not self.client.bucket_exists(self.bucket):
                try:
                    self.client.make_bucket(self.bucket)
                except S3Error as error:
                    if error.code not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                        raise

    @contextmanager
    def writer(self, key: str) -> Iterator[BlobWriter]:
        check_key(key)
        pipe = _Pipe(depth=4)

        def upload() -> None:
            _pools.current = None
            try:
                self.client.put_object(
                    self.bucket,
                    key,
                    pipe,  # type: ignore[arg-type]
                    length=-1,
                    part_size=self._part_size,
                    num_parallel_uploads=self._parallel_parts,
                )
            except BaseException as error:
                _stop_abandoned_pool()
                pipe.fail(error)

        thread = threading.Thread(target=upload, name="s3-upload", daemon=True)
        thread.start()
        try:
            yield pipe
        except BaseException as error:
            pipe.close(error)
            thread.join()
            raise
        pipe.close()
        thread.join()
        if pipe.error is not None:
            with _translated():
                raise pipe.error

    @contextmanager
    def reader(self, key: str, offset: int = 0, length: int | None = None) -> Iterator[BlobReader]:
        check_key(key)
        with _translated():
            response = self.client.get_object(self.bucket, key, offset=offset, length=length or 0)
        try:
            yield _Response(response)
        finally:
            response.close()
            response.release_conn()

    def delete(self, key: str) -> None:
        check_key(key)
        with _translated():
            self.client.remove_object(self.bucket, key)

    def iter_blobs(self) -> Iterator[BlobInfo]:
        with _translated():
            for item in self.client.list_objects(self.bucket, recursive=True):
                if item.object_name and item.last_modified is not None:
                    yield BlobInfo(item.object_name, item.size or 0, item.last_modified)

    def abort_incomplete(self, before: datetime) -> int:
        """Multipart uploads begun before `before` and never completed: their parts stay
        stored (and billed) until aborted. The SDK has no public call for these two S3 APIs."""
        aborted, key_marker, upload_marker = 0, None, None
        with _translated():
            while True:
                page = self.client._list_multipart_uploads(
                    self.bucket, key_marker=key_marker, upload_id_marker=upload_marker
                )
                for upload in page.uploads:
                    started = upload.initiated_time
                    if upload.upload_id and started is not None and started < before:
                        self.client._abort_multipart_upload(
                            self.bucket, upload.object_name, upload.upload_id
                        )
                        aborted += 1
                if not page.is_truncated or not page.uploads:
                    return aborted
                key_marker = page.uploads[-1].object_name
                upload_marker = page.uploads[-1].upload_id

    def check(self) -> None:
        with _translated():
            if not self.client.bucket_exists(self.bucket):
                raise StoreUnavailable(f"bucket {self.bucket!r} does not exist")


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except S3Error as error:
        if error.code in {"NoSuchKey", "NoSuchObject"}:
            raise BlobNotFound(error.object_name or "") from None
        raise StoreUnavailable(f"object store refused: {error.code}") from error
    except (MinioException, urllib3.exceptions.HTTPError, OSError) as error:
        raise StoreUnavailable(f"object store unreachable: {type(error).__name__}") from error
