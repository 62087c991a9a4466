"""Opaque blob storage: bytes under random keys. Knows nothing of the vault, its users or keys."""

from storage.base import (
    MIN_PART,
    BlobInfo,
    BlobNotFound,
    BlobReader,
    BlobStore,
    BlobWriter,
    ReadAhead,
    Retaining,
    StoreUnavailable,
    put_bytes,
    put_retained,
    read_range,
)
from storage.filestore import FileStore
from storage.s3store import S3Store

__all__ = [
    "MIN_PART",
    "BlobInfo",
    "BlobNotFound",
    "BlobReader",
    "BlobStore",
    "BlobWriter",
    "ReadAhead",
    "FileStore",
    "S3Store",
    "Retaining",
    "StoreUnavailable",
    "put_bytes",
    "put_retained",
    "read_range",
]
