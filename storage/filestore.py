"""Blobs as files under one directory: the embedded default."""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import BinaryIO, TypeVar

from storage.base import BlobInfo, BlobNotFound, BlobReader, BlobWriter, StoreUnavailable, check_key

_STALE_TEMPORARY_SECONDS = 24 * 3600
T = TypeVar("T")


class _LimitedReader:
    def __init__(self, file: BinaryIO, length: int | None) -> None:
        self._file = file
        self._left = length

    def read(self, size: int = -1, /) -> bytes:
        if self._left is None:
            return _io(lambda: self._file.read(size))
        wanted = self._left if size < 0 else min(size, self._left)
        data = _io(lambda: self._file.read(wanted))
        self._left -= len(data)
        return data


class _FileWriter:
    def __init__(self, file: BinaryIO) -> None:
        self._file = file

    def write(self, data: bytes, /) -> int:
        return _io(lambda: self._file.write(data))


def _io(operation: Callable[[], T]) -> T:
    """Disk errors (full, read-only) are the store failing, not the caller."""
    try:
        return operation()
    except OSError as error:
        raise StoreUnavailable(f"file store: {error.strerror or type(error).__name__}") from error


class FileStore:
    """Writes go to a temporary file that is renamed into place once complete and synced,
    so a crash never leaves a half-written blob under a real key."""

    remote = False

    def __init__(self, root: Path) -> None:
        self.root = root
        self._objects = root / "objects"
        self._incoming = root / "incoming"
        self._assembling = root / "assembling"
        for folder in (self._objects, self._incoming, self._assembling):
            folder.mkdir(parents=True, exist_ok=True)
        # Not the assemblies: a resumable upload's may lie unchanged for a day and still go on.
        # Only `vault storage gc` knows which are live (abort_incomplete's `keep`).
        self._clear_incoming(datetime.now(UTC) - timedelta(seconds=_STALE_TEMPORARY_SECONDS))

    def _path(self, key: str) -> Path:
        check_key(key)
        return self._objects / key[:2] / key

    @contextmanager
    def writer(self, key: str) -> Iterator[BlobWriter]:
        path = self._path(key)
        fd, temporary = _io(lambda: tempfile.mkstemp(dir=self._incoming))
        try:
            with os.fdopen(fd, "wb") as file:
                yield _FileWriter(file)
                _io(file.flush)
                _io(lambda: os.fsync(file.fileno()))
            new_prefix = not path.parent.exists()
            _io(lambda: path.parent.mkdir(exist_ok=True))
            _io(lambda: os.replace(temporary, path))
            # The rename itself must survive a power cut: the row about to commit names it.
            _io(lambda: sync_directory(path.parent))
            if new_prefix:
                _io(lambda: sync_directory(self._objects))
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    @contextmanager
    def reader(self, key: str, offset: int = 0, length: int | None = None) -> Iterator[BlobReader]:
        file = _io(lambda: _open(self._path(key), key))
        with file:
            _io(lambda: file.seek(offset))
            yield _LimitedReader(file, length)

    def delete(self, key: str) -> None:
        _io(lambda: self._path(key).unlink(missing_ok=True))

    def iter_blobs(self) -> Iterator[BlobInfo]:
        for path in _io(lambda: list(self._objects.glob("*/*"))):
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            modified = datetime.fromtimestamp(stat.st_mtime, UTC)
            yield BlobInfo(key=path.name, size=stat.st_size, modified=modified)

    def check(self) -> None:
        if not os.access(self._objects, os.W_OK):
            raise StoreUnavailable(f"{self._objects} is not writable")

    def abort_incomplete(self, before: datetime, keep: Collection[str] = ()) -> int:
        cutoff, removed = before.timestamp(), self._clear_incoming(before)
        for path in _io(lambda: list(self._assembling.iterdir())):
            if path.name.partition(".")[0] not in keep and _older(path, cutoff):
                _io(partial(shutil.rmtree, path, ignore_errors=True))
                removed += 1
        return removed

    def _clear_incoming(self, before: datetime) -> int:
        cutoff, removed = before.timestamp(), 0
        for path in _io(lambda: list(self._incoming.iterdir())):
            if _older(path, cutoff):
                _io(partial(path.unlink, missing_ok=True))
                removed += 1
        return removed

    def _assembly(self, key: str, handle: str) -> Path:
        check_key(key)
        if not handle.isalnum():
            raise ValueError("not an assembly handle")
        return self._assembling / f"{key}.{handle}"

    def begin_parts(self, key: str) -> str:
        """The parts are files of a folder of their own, joined into the object on finishing."""
        handle = secrets.token_hex(16)
        _io(lambda: self._assembly(key, handle).mkdir())
        return handle

    def put_part(self, key: str, handle: str, number: int, data: bytes) -> str:
        folder = self._assembly(key, handle)
        if not folder.is_dir():
            raise BlobNotFound(key)
        fd, temporary = _io(lambda: tempfile.mkstemp(dir=folder, prefix="."))
        try:
            with os.fdopen(fd, "wb") as file:
                _io(lambda: file.write(data))
                _io(file.flush)
                _io(lambda: os.fsync(file.fileno()))
            _io(lambda: os.replace(temporary, folder / f"{number:05d}"))
            _io(lambda: sync_directory(folder))
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return str(len(data))

    def finish_parts(self, key: str, handle: str, tokens: Sequence[str]) -> None:
        folder = self._assembly(key, handle)
        if not folder.is_dir():
            if not self._path(key).is_file():
                raise BlobNotFound(key)
            return  # finished before
        parts = [folder / f"{number:05d}" for number in range(1, len(tokens) + 1)]
        for part, token in zip(parts, tokens, strict=True):
            if not part.is_file() or str(part.stat().st_size) != token:
                raise StoreUnavailable(f"file store: part {part.name} is not the one recorded")
        with self.writer(key) as sink:
            for part in parts:
                _io(partial(_append, part, sink))
        _io(partial(shutil.rmtree, folder, ignore_errors=True))

    def abort_parts(self, key: str, handle: str) -> None:
        _io(partial(shutil.rmtree, self._assembly(key, handle), ignore_errors=True))


def _append(part: Path, sink: BlobWriter) -> None:
    with part.open("rb") as source:
        while block := source.read(1 << 20):
            sink.write(block)


def _older(path: Path, cutoff: float) -> bool:
    try:
        return path.stat().st_mtime < cutoff
    except FileNotFoundError:  # another process just finished with it
        return False


def _open(path: Path, key: str) -> BinaryIO:
    try:
        return path.open("rb", buffering=0)
    except FileNotFoundError:
        raise BlobNotFound(key) from None


def sync_directory(directory: Path) -> None:
    """A rename or a new name in `directory` survives a power cut only once the directory is
    synced, not just the file."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
