"""Blobs in an S3 bucket through the minio SDK: MinIO, SeaweedFS, Ceph RGW or AWS S3.

Only the S3 subset every one of them implements is used: bucket create/exists,
put (single or multipart), ranged get, delete, list, and multipart uploads kept open across
processes (a resumable upload's parts).
"""

from __future__ import annotations

import io
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime
from typing import Any, cast

import certifi
import urllib3
from minio import Minio
from minio.commonconfig import COMPLIANCE
from minio.datatypes import Part
from minio.error import MinioException, S3Error
from minio.retention import Retention
from urllib3.util import Retry, Timeout

from storage.base import (
    BlobInfo,
    BlobNotFound,
    BlobReader,
    BlobWriter,
    StoreUnavailable,
    check_key,
)

# What S3 servers answer a retention on a bucket made without object lock.
_NO_LOCK = {
    "InvalidRequest",
    "InvalidBucketState",
    "ObjectLockConfigurationNotFoundError",
    "NotImplemented",
    "MissingObjectLockConfiguration",
}


class _Upload:
    """Sends what the caller writes to the store in parts, `parallel` of them at once in
    threads of its own, while the caller goes on producing the next ones, in bounded memory:
    at most `parallel` parts in flight, one waiting and one being filled. A blob that fits in
    one part is sent with a single PUT when it ends.

    Neither side waits for ever on the other. The caller waits at most `timeout` for the
    senders to send a part, then gives up; a failed part is raised at the caller's next write,
    not at the end of the blob. The senders wait for the caller for as long as it takes to
    produce (a citizen's upload may be slow), stop as soon as it gives up or a part fails, and
    the last one to stop aborts the multipart upload, so the caller never waits on the abort.
    Every store call is bounded by the HTTP client's deadlines.

    The SDK's own parallel upload cannot do this: its pool reports a failed part only after
    reading the whole stream, and is left running when the stream fails; it is built here from
    the same calls (create, upload part, complete, abort) put_object makes.
    """

    def __init__(
        self, client: Minio, bucket: str, key: str, part_size: int, parallel: int, timeout: float
    ) -> None:
        self._client, self._bucket, self._key = client, bucket, key
        self._part_size, self._parallel, self._timeout = part_size, parallel, timeout
        self._changed = threading.Condition()
        self._filling: list[bytes] = []
        self._filled = 0
        self._waiting: deque[tuple[int, bytes]] = deque()
        self._parts = 0
        self._senders = 0
        self._busy = 0
        self._etags: dict[int, str] = {}
        self._upload_id: str | None = None
        self._failure: BaseException | None = None
        self._closed = False
        self._abandoned = False

    def write(self, data: bytes, /) -> int:
        if self._failure is not None:
            with self._changed:
                self._wait(lambda: True)  # raises it
        if data:
            self._filling.append(bytes(data))
            self._filled += len(data)
            if self._filled >= self._part_size:
                self._queue_part()
        return len(data)

    def finish(self) -> None:
        """Sends what is left and returns once the blob is stored."""
        if not self._parts:
            with _translated():
                self._client._put_object(self._bucket, self._key, self._take(), {})
            return
        if self._filled:
            self._queue_part()
        with self._changed:
            self._closed = True
            self._changed.notify_all()
            self._wait(lambda: not self._waiting and not self._busy)
            upload_id = self._upload_id
            parts = [Part(number, etag) for number, etag in sorted(self._etags.items())]
        with _translated():
            self._client._complete_multipart_upload(
                self._bucket, self._key, cast(str, upload_id), parts
            )

    def abandon(self) -> None:
        with self._changed:
            self._closed = self._abandoned = True
            self._waiting.clear()
            self._changed.notify_all()
            if not self._senders:
                self._abort()

    def _take(self) -> bytes:
        data = b"".join(self._filling)
        self._filling, self._filled = [], 0
        return data

    def _queue_part(self) -> None:
        if self._upload_id is None:
            with _translated():
                self._upload_id = self._client._create_multipart_upload(
                    self._bucket, self._key, {"Content-Type": "application/octet-stream"}
                )
        part = self._take()
        with self._changed:
            self._wait(lambda: len(self._waiting) + self._busy <= self._parallel)
            self._parts += 1
            self._waiting.append((self._parts, part))
            if self._senders < min(self._parallel, self._parts):
                self._senders += 1
                threading.Thread(target=self._send, name="s3-upload", daemon=True).start()
            self._changed.notify_all()

    def _wait(self, ready: Callable[[], bool]) -> None:
        """The caller's side, holding the lock: gives up after `timeout` without a part sent."""
        sent, deadline = len(self._etags), time.monotonic() + self._timeout
        while True:
            if self._failure is not None:
                with _translated():
                    raise self._failure
            if ready():
                return
            if len(self._etags) != sent:
                sent, deadline = len(self._etags), time.monotonic() + self._timeout
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise StoreUnavailable(f"object store upload stalled for {self._timeout:g} s")
            self._changed.wait(remaining)

    def _send(self) -> None:
        failure: BaseException | None = None
        try:
            while failure is None and (part := self._next_part()):
                number, data = part
                del part
                etag = ""
                try:
                    etag = self._client._upload_part(
                        self._bucket, self._key, data, None, cast(str, self._upload_id), number
                    )
                except BaseException as error:
                    failure = error
                del data
                with self._changed:
                    self._busy -= 1
                    if failure is None:
                        self._etags[number] = etag
                    else:
                        self._failure = self._failure or failure
                        self._closed = True
                        self._waiting.clear()
                    self._changed.notify_all()
        finally:
            with self._changed:
                self._senders -= 1
                if not self._senders and (self._abandoned or self._failure is not None):
                    self._abort()

    def _next_part(self) -> tuple[int, bytes] | None:
        with self._changed:
            while not self._waiting:
                if self._closed or self._failure is not None:
                    return None
                self._changed.wait()
            self._busy += 1
            self._changed.notify_all()
            return self._waiting.popleft()

    def _abort(self) -> None:
        """Holds the lock. Best effort, in a thread of its own: a part the store kept stays
        billed until `vault storage gc` aborts what the store still lists as unfinished."""
        upload_id, self._upload_id = self._upload_id, None
        if upload_id is not None:
            threading.Thread(
                target=_quietly,
                args=(self._client._abort_multipart_upload, self._bucket, self._key, upload_id),
                name="s3-abort",
                daemon=True,
            ).start()


def _quietly(call: Callable[..., object], *args: object) -> None:
    with suppress(MinioException, urllib3.exceptions.HTTPError, OSError):
        call(*args)


class _Response:
    """An object's bytes exactly as stored: read undecoded, since a blob is opaque and a
    Content-Encoding header (the store's, or whoever wrote the object) must not change them.
    Undecoded, a sized read also skips urllib3's decode buffer and its copy."""

    def __init__(self, response: Any) -> None:
        self._response = response

    def read(self, size: int = -1, /) -> bytes:
        try:
            return self._response.read(  # type: ignore[no-any-return]
                None if size < 0 else size, decode_content=False
            )
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

    remote = True

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
        parallel_parts: int = 2,
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
        self._parallel_parts = parallel_parts
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
        upload = _Upload(
            self.client, self.bucket, key, self._part_size, self._parallel_parts, self._timeout
        )
        try:
            yield upload
            upload.finish()
        except BaseException:
            upload.abandon()
            raise

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

    def put_retained(self, key: str, data: bytes, until: datetime) -> bool:
        """Under object lock in compliance mode when the bucket was made with object lock
        (`mc mb --with-lock`); a bucket without it (or a server without the feature) refuses
        the retention, and the blob is then stored plainly."""
        check_key(key)
        with _translated():
            try:
                self.client.put_object(
                    self.bucket,
                    key,
                    io.BytesIO(data),
                    len(data),
                    retention=Retention(COMPLIANCE, until),
                )
                return True
            except S3Error as error:
                if error.code not in _NO_LOCK:
                    raise
            self.client.put_object(self.bucket, key, io.BytesIO(data), len(data))
            return False

    def delete(self, key: str) -> None:
        check_key(key)
        with _translated():
            self.client.remove_object(self.bucket, key)

    def iter_blobs(self) -> Iterator[BlobInfo]:
        with _translated():
            for item in self.client.list_objects(self.bucket, recursive=True):
                if item.object_name and item.last_modified is not None:
                    yield BlobInfo(item.object_name, item.size or 0, item.last_modified)

    def begin_parts(self, key: str) -> str:
        check_key(key)
        with _translated():
            return self.client._create_multipart_upload(
                self.bucket, key, {"Content-Type": "application/octet-stream"}
            )

    def put_part(self, key: str, handle: str, number: int, data: bytes) -> str:
        check_key(key)
        try:
            with _translated():
                return self.client._upload_part(self.bucket, key, data, None, handle, number)
        except StoreUnavailable as error:
            if _no_upload(error):
                raise BlobNotFound(key) from None
            raise

    def finish_parts(self, key: str, handle: str, tokens: Sequence[str]) -> None:
        check_key(key)
        parts = [Part(number, token) for number, token in enumerate(tokens, 1)]
        try:
            with _translated():
                self.client._complete_multipart_upload(self.bucket, key, handle, parts)
        except StoreUnavailable as error:
            if not _no_upload(error):
                raise
            with _translated():  # finished before (BlobNotFound if it was aborted instead)
                self.client.stat_object(self.bucket, key)

    def abort_parts(self, key: str, handle: str) -> None:
        check_key(key)
        try:
            with _translated():
                self.client._abort_multipart_upload(self.bucket, key, handle)
        except StoreUnavailable as error:
            if not _no_upload(error):
                raise

    def abort_incomplete(self, before: datetime, keep: Collection[str] = ()) -> int:
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
                    if (
                        upload.upload_id
                        and started is not None
                        and started < before
                        and upload.object_name not in keep
                    ):
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


def _no_upload(error: StoreUnavailable) -> bool:
    cause = error.__cause__
    return isinstance(cause, S3Error) and cause.code == "NoSuchUpload"


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
