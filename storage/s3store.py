"""Blobs in an S3 bucket through the minio SDK: MinIO, SeaweedFS, Ceph RGW or AWS S3.

Only the S3 subset every one of them implements is used: bucket create/exists,
put (single or multipart), ranged get, delete, list.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from typing import Any

import certifi
import urllib3
from minio import Minio
from minio.error import MinioException, S3Error
from urllib3.util import Retry, Timeout

from storage.base import (
    BlobInfo,
    BlobNotFound,
    BlobReader,
    BlobWriter,
    StoreUnavailable,
    check_key,
)


class _Aborted(Exception):
    """Raised inside the SDK's read so that it aborts the multipart upload."""


class _Pipe:
    """Carries the caller's bytes to the SDK's upload thread, which sends one part at a time.
    Holding up to a part lets the caller fill the next part while the SDK sends the previous
    one, in bounded memory.

    Neither side waits for ever on the other. The caller waits at most `timeout` at once for
    the upload thread, then gives up; the upload thread waits for the caller for as long as the
    caller takes to produce (a citizen's upload may be slow), but stops as soon as the caller
    gives up, and removes what it stored if giving up came too late to stop the upload.
    """

    def __init__(self, capacity: int, timeout: float) -> None:
        self._capacity = capacity
        self._timeout = timeout
        self._changed = threading.Condition()
        self._blocks: deque[bytes | memoryview] = deque()
        self._held = 0
        self._ended = False
        self._abandoned = False
        self._done = False
        self._failure: BaseException | None = None

    def write(self, data: bytes, /) -> int:
        block = bytes(data)
        with self._changed:
            self._wait(lambda: self._held == 0 or self._held + len(block) <= self._capacity)
            if block:
                self._blocks.append(block)
                self._held += len(block)
                self._changed.notify_all()
        return len(data)

    def finish(self) -> None:
        """Ends the stream and returns once the blob is stored."""
        with self._changed:
            self._ended = True
            self._changed.notify_all()
            self._wait(lambda: self._done)

    def abandon(self) -> None:
        with self._changed:
            self._abandoned = True
            self._changed.notify_all()

    def _wait(self, ready: Callable[[], bool]) -> None:
        deadline = time.monotonic() + self._timeout
        while True:
            if self._failure is not None:
                with _translated():
                    raise self._failure
            if ready():
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise StoreUnavailable(f"object store upload stalled for {self._timeout:g} s")
            self._changed.wait(remaining)

    def read(self, size: int = -1, /) -> bytes:
        """The SDK's side: `size` bytes, fewer only at the end of the stream."""
        wanted = size if size >= 0 else 1 << 62
        taken: list[bytes | memoryview] = []
        with self._changed:
            while wanted > 0:
                if self._abandoned:
                    raise _Aborted
                if self._blocks:
                    block = self._blocks.popleft()
                    if len(block) > wanted:
                        rest = memoryview(block)[wanted:]
                        self._blocks.appendleft(rest)
                        block = memoryview(block)[:wanted]
                    self._held -= len(block)
                    taken.append(block)
                    wanted -= len(block)
                    self._changed.notify_all()
                elif self._ended:
                    break
                else:
                    self._changed.wait()
        return b"".join(taken)

    def stored(self) -> bool:
        """The upload thread's success. False if the caller gave up meanwhile: the blob it was
        told had failed must not stay."""
        with self._changed:
            self._done = True
            self._changed.notify_all()
            return not self._abandoned

    def failed(self, error: BaseException) -> None:
        with self._changed:
            self._failure = error
            self._changed.notify_all()


class _Response:
    def __init__(self, response: Any) -> None:
        self._response = response

    def read(self, size: int = -1, /) -> bytes:
        try:
            return self._response.read(None if size < 0 else size)  # type: ignore[no-any-return]
        except urllib3.exceptions.HTTPError as error:
            raise StoreUnavailable("object store read failed") from error


class S3Store:
    """A dead or frozen store must fail a request with StoreUnavailable within `timeout`, not
    hold it (and a shutdown waiting on it) for ever. Connecting gets a fifth of it and is tried
    three times, as a refused connection fails at once; the server's next bytes get a third and
    are not waited for again, as a frozen server stays frozen, and a failed upload's abort must
    fit in what is left. An upload's caller never waits longer than `timeout` at once for the
    upload thread, so the store must take a part within it.
    """

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
        timeout: float = 10.0,
    ) -> None:
        http = urllib3.PoolManager(
            timeout=Timeout(connect=timeout / 5, read=timeout / 3),
            maxsize=64,
            cert_reqs="CERT_REQUIRED",
            ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
            retries=Retry(
                total=2,
                connect=2,
                read=0,
                status=1,
                other=0,
                backoff_factor=timeout / 50,
                status_forcelist=[500, 502, 503, 504],
                raise_on_status=False,
                respect_retry_after_header=False,  # its sleep would have no bound
            ),
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
        self._timeout = timeout

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
        pipe = _Pipe(self._part_size, self._timeout)
        threading.Thread(
            target=self._upload, args=(key, pipe), name="s3-upload", daemon=True
        ).start()
        try:
            yield pipe
            pipe.finish()
        except BaseException:
            pipe.abandon()
            raise

    def _upload(self, key: str, pipe: _Pipe) -> None:
        """One part at a time: with parallel parts the SDK runs a thread pool, which it leaves
        running when the stream it reads fails, and it only reports a failed part once it has
        read the whole stream. On a failure put_object aborts the multipart upload itself."""
        try:
            self.client.put_object(
                self.bucket,
                key,
                pipe,  # type: ignore[arg-type]
                length=-1,
                part_size=self._part_size,
                num_parallel_uploads=1,
            )
        except BaseException as error:
            pipe.failed(error)
            return
        if not pipe.stored():
            with suppress(MinioException, urllib3.exceptions.HTTPError, OSError):
                self.client.remove_object(self.bucket, key)

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
        stored (and billed) until aborted. minio-py made ListMultipartUploads and
        AbortMultipartUpload private, holding that its uploads never leave any behind
        (https://github.com/minio/minio-py/pull/967); a killed process does."""
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
