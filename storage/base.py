"""The blob-store contract shared by the file store and the S3 store."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{7,127}$")


class BlobNotFound(Exception):
    pass


class StoreUnavailable(Exception):
    """The store cannot be reached or refused to work; retrying later may succeed."""


@dataclass(frozen=True)
class BlobInfo:
    key: str
    size: int
    modified: datetime


class BlobReader(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class BlobWriter(Protocol):
    def write(self, data: bytes, /) -> int: ...


class BlobStore(Protocol):
    def writer(self, key: str) -> AbstractContextManager[BlobWriter]:
        """Collects a blob of unknown length; it exists only if the block exits cleanly."""

    def reader(
        self, key: str, offset: int = 0, length: int | None = None
    ) -> AbstractContextManager[BlobReader]: ...

    def delete(self, key: str) -> None:
        """Idempotent: deleting a missing blob is not an error."""

    def iter_blobs(self) -> Iterator[BlobInfo]: ...

    def check(self) -> None:
        """Raise StoreUnavailable unless the store answers."""


def check_key(key: str) -> str:
    if not KEY_PATTERN.match(key):
        raise ValueError("blob keys are opaque ids of 8 to 128 letters, digits, '-' or '_'")
    return key


def put_bytes(store: BlobStore, key: str, data: bytes) -> None:
    with store.writer(key) as sink:
        sink.write(data)


def read_range(store: BlobStore, key: str, offset: int, length: int) -> bytes:
    with store.reader(key, offset, length) as source:
        parts = []
        while length > 0:
            data = source.read(length)
            if not data:
                break
            parts.append(data)
            length -= len(data)
        return b"".join(parts)
