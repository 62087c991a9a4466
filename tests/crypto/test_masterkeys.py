import base64
import os
import threading
from pathlib import Path

import pytest

from vault.crypto import MasterKeyError, masterkeys


def test_created_key_file_is_private_and_loads(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    created = masterkeys.create(path)
    assert path.stat().st_mode & 0o777 == 0o600
    loaded = masterkeys.load(path, require_private=True)
    assert loaded.versions == [1] == created.versions
    box = created.wrap(1, b"k" * 32, aad=b"a")
    assert loaded.unwrap(1, box, aad=b"a") == b"k" * 32


def test_create_never_overwrites(tmp_path: Path) -> None:
    masterkeys.create(tmp_path / "master.key")
    with pytest.raises(FileExistsError):
        masterkeys.create(tmp_path / "master.key")


def test_new_versions_seal_and_old_ones_still_open(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    old = masterkeys.create(path)
    box = old.wrap(1, b"k" * 32, aad=b"a")
    assert masterkeys.add_version(path) == 2
    ring = masterkeys.load(path)
    assert ring.current_version == 2
    assert ring.unwrap(1, box, aad=b"a") == b"k" * 32


@pytest.mark.parametrize(
    "content",
    [
        "",
        "v1 " + base64.b64encode(os.urandom(16)).decode(),
        "v1 not-base64!!",
        "1 " + base64.b64encode(os.urandom(32)).decode(),
        "v1 {k}\nv1 {k}".format(k=base64.b64encode(os.urandom(32)).decode()),
    ],
    ids=["empty", "short", "not-base64", "no-version-prefix", "repeated-version"],
)
def test_malformed_key_files_are_refused_without_revealing_keys(
    tmp_path: Path, content: str
) -> None:
    path = tmp_path / "master.key"
    path.write_text(content)
    with pytest.raises(MasterKeyError) as refused:
        masterkeys.load(path)
    assert content.split(" ")[-1][:8] not in str(refused.value) or not content


def test_key_file_readable_by_others_is_refused_in_production(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    masterkeys.create(path)
    path.chmod(0o644)
    with pytest.raises(MasterKeyError, match="chmod 600"):
        masterkeys.load(path, require_private=True)


def test_repr_shows_versions_only(tmp_path: Path) -> None:
    ring = masterkeys.create(tmp_path / "master.key")
    assert repr(ring) == "MasterKeys(versions=[1])"


def test_current_version_cannot_be_removed(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    masterkeys.create(path)
    masterkeys.add_version(path)
    with pytest.raises(MasterKeyError, match="current"):
        masterkeys.remove_version(path, 2)
    masterkeys.remove_version(path, 1)
    assert masterkeys.load(path).versions == [2]


def test_every_change_to_the_key_file_is_synced_with_its_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A power cut cannot be caused here: what is synced is recorded instead. Rows rewrapped
    under a new version must not outlive the file's new name, so the directory is synced
    after each rename, not only the file's bytes."""
    synced: list[str] = []
    fsync = os.fsync

    def recorded(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        fsync(fd)

    monkeypatch.setattr(os, "fsync", recorded)
    path = tmp_path / "keys" / "master.key"
    for change in (
        lambda: masterkeys.create(path),
        lambda: masterkeys.add_version(path),
        lambda: masterkeys.remove_version(path, 1),
    ):
        synced.clear()
        change()
        assert synced[-1] == str(path.parent), synced
        assert any(name.startswith(str(path.parent / ".masterkey-")) for name in synced)


def test_a_rotation_during_a_retirement_waits_and_both_land(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The retirement is held between reading the file and replacing it, for as long as the
    rotation takes if the rotation does not wait: written back, the file it read would drop the
    version the rotation added, and every key wrapped under it."""
    path = tmp_path / "master.key"
    masterkeys.create(path)
    masterkeys.add_version(path)
    parse, read, rotated = masterkeys._parse, threading.Event(), threading.Event()

    def retirement_held_after_reading(text: str, where: Path) -> dict[int, bytes]:
        keys = parse(text, where)
        if threading.current_thread().name == "retire":
            read.set()
            rotated.wait(timeout=1)
        return keys

    monkeypatch.setattr(masterkeys, "_parse", retirement_held_after_reading)
    retire = threading.Thread(target=masterkeys.remove_version, args=(path, 1), name="retire")
    retire.start()
    assert read.wait(timeout=5)
    assert masterkeys.add_version(path) == 3
    rotated.set()
    retire.join()
    assert masterkeys.load(path).versions == [2, 3]
