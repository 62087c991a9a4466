"""Versioned master keys, read from a key file that never enters the database.

The file holds one line per version, `v<N> <base64 of 32 bytes>`; the highest
version wraps new citizen keys, every listed version still unwraps. Rotation
appends a line, so old wraps keep opening until they are rewrapped.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from storage.filestore import sync_directory
from vault.crypto import aead

_HEADER = (
    "# Citizen vault master keys: keep this file secret (mode 0600) and backed up apart\n"
    "# from the database. The highest version wraps new keys; every version unwraps.\n"
)


class MasterKeyError(Exception):
    """The key file is missing, unreadable or malformed; the message never holds key bytes."""


class MasterKeys:
    def __init__(self, keys: dict[int, bytes]) -> None:
        if not keys:
            raise MasterKeyError("the master key file holds no key")
        if any(len(key) != aead.KEY_SIZE for key in keys.values()):
            raise MasterKeyError("every master key must be exactly 32 bytes")
        self._keys = dict(keys)

    @property
    def current_version(self) -> int:
        return max(self._keys)

    @property
    def versions(self) -> list[int]:
        return sorted(self._keys)

    def wrap(self, version: int, key: bytes, *, aad: bytes) -> bytes:
        return aead.seal(self._key(version), key, aad=aad)

    def unwrap(self, version: int, box: bytes, *, aad: bytes) -> bytes:
        return aead.open_box(self._key(version), box, aad=aad)

    def derive(self, version: int, label: bytes) -> bytes:
        """A key for a purpose other than wrapping (audit anchors), from one version."""
        return aead.subkey(self._key(version), label)

    def _key(self, version: int) -> bytes:
        try:
            return self._keys[version]
        except KeyError:
            raise MasterKeyError(f"master key version {version} is not in the key file") from None

    def __repr__(self) -> str:
        return f"MasterKeys(versions={self.versions})"


def load(path: Path, *, require_private: bool = False) -> MasterKeys:
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise MasterKeyError(f"master key file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise MasterKeyError(
            f"master key file {path} cannot be read: {type(error).__name__}"
        ) from None
    if require_private and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise MasterKeyError(f"master key file {path} is readable by others; chmod 600 it")
    return MasterKeys(_parse(text, path))


def _parse(text: str, path: Path) -> dict[int, bytes]:
    keys: dict[int, bytes] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        label, _, encoded = line.partition(" ")
        try:
            version = int(label.removeprefix("v"))
            key = base64.b64decode(encoded.strip(), validate=True)
        except (ValueError, binascii.Error):
            raise MasterKeyError(f"{path}, line {number}: expected 'v<N> <base64 key>'") from None
        if not label.startswith("v") or version < 1 or version in keys:
            raise MasterKeyError(f"{path}, line {number}: bad or repeated version {label!r}")
        if len(key) != aead.KEY_SIZE:
            raise MasterKeyError(f"{path}, line {number}: the key is not 32 bytes")
        keys[version] = key
    return keys


def create(path: Path) -> MasterKeys:
    """A new key file with version 1, written 0600 from the first byte."""
    key = aead.new_key()
    _write(path, {1: key}, exclusive=True)
    return MasterKeys({1: key})


def add_version(path: Path) -> int:
    with new_version(path) as (version, _):
        return version


@contextmanager
def new_version(path: Path) -> Iterator[tuple[int, MasterKeys]]:
    """The next version, with every key the file holds, for the caller to record elsewhere
    first: the file gets it when the block ends without an error, and never otherwise. Other
    changes to the file wait meanwhile."""
    with _locked(path):
        keys = _parse(path.read_text(encoding="ascii"), path)
        version = max(keys) + 1
        keys[version] = aead.new_key()
        yield version, MasterKeys(keys)
        _write(path, keys, exclusive=False)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Changes to one key file, by any process on this host, one at a time: each reads the
    file, changes it and replaces it whole, so a retirement interleaved with a rotation would
    write back the file it read and drop the new version, and every key wrapped under it."""
    fd = os.open(path.with_name(f"{path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # and with it the lock


def _write(path: Path, keys: dict[int, bytes], *, exclusive: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = "".join(f"v{v} {base64.b64encode(k).decode()}\n" for v, k in sorted(keys.items()))
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".masterkey-")  # created 0600
    try:
        with os.fdopen(fd, "w", encoding="ascii") as file:
            file.write(_HEADER + lines)
            file.flush()
            os.fsync(file.fileno())
        if exclusive:
            os.link(temporary, path)  # fails if another process created the file first
            os.unlink(temporary)
        else:
            os.replace(temporary, path)
        # Rows rewrapped under a new version must never outlive, after a power cut, the file
        # that holds it.
        sync_directory(path.parent)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def remove_version(path: Path, version: int) -> None:
    with _locked(path):
        keys = _parse(path.read_text(encoding="ascii"), path)
        if version not in keys:
            raise MasterKeyError(f"version {version} is not in {path}")
        if version == max(keys):
            raise MasterKeyError(f"version {version} is the current master key; rotate first")
        del keys[version]
        _write(path, keys, exclusive=False)
