import hashlib
import io
import os
import tempfile
import uuid
from pathlib import Path

import pytest

from storage import FileStore, StoreUnavailable
from tests.support.at_rest import open_spools
from tests.support.files import MARKER
from vault import crypto
from vault.blobs import objects
from vault.keys import ObjectBinding

BIG = crypto.CHUNK_SIZE


@pytest.mark.parametrize(
    "pieces",
    [[], [0], [1], [BIG], [3 * BIG + 5], [100, 0, 2 * BIG, BIG - 100, 7]],
    ids=["nothing", "an-empty-piece", "one-byte", "one-chunk", "one-large-piece", "mixed"],
)
def test_objects_read_back_whatever_pieces_they_were_written_in(
    tmp_path: Path, pieces: list[int]
) -> None:
    store = FileStore(tmp_path)
    binding = ObjectBinding(crypto.ObjectKind.CONTENT, uuid.uuid4(), uuid.uuid4(), 1)
    parts = [os.urandom(size) for size in pieces]
    data = b"".join(parts)
    keys: list[str] = []
    stored = objects.write_stream(store, binding, parts, on_key=keys.append)
    assert keys == [stored.key]
    assert (stored.size, stored.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    with store.reader(stored.key) as reader:
        assert len(reader.read()) == crypto.ciphertext_size(len(data))
    assert objects.read_bytes(store, stored, binding) == data


@pytest.fixture
def spool_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "spool"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    return directory


def test_a_checked_write_is_read_from_a_spool_of_ciphertext_only(
    tmp_path: Path, spool_dir: Path
) -> None:
    store = FileStore(tmp_path / "blobs")
    binding = ObjectBinding(crypto.ObjectKind.CONTENT, uuid.uuid4(), uuid.uuid4(), 1)
    data = MARKER + os.urandom(3 * BIG) + MARKER
    keys: list[str] = []
    pieces = [data[offset : offset + 65_536] for offset in range(0, len(data), 65_536)]
    with objects.write_checked(store, binding, pieces, on_key=keys.append) as (stored, view):
        assert (stored.size, stored.sha256) == (len(data), hashlib.sha256(data).hexdigest())
        [spooled] = open_spools(spool_dir).values()
        assert os.listdir(spool_dir) == []  # it has no name: nothing is left if the process dies
        assert spooled.startswith(b"DVLT") and MARKER not in spooled
        view.seek(-len(MARKER), io.SEEK_END)
        assert view.read() == MARKER
        view.seek(0)
        assert io.BufferedReader(view).read() == data
    assert open_spools(spool_dir) == {}
    assert keys == [stored.key]
    with store.reader(stored.key) as reader:
        assert reader.read() == spooled  # the same ciphertext, encrypted once
    assert objects.read_bytes(store, stored, binding) == data


def test_a_checked_write_refused_in_its_block_leaves_no_object_and_no_spool(
    tmp_path: Path, spool_dir: Path
) -> None:
    store = FileStore(tmp_path / "blobs")
    binding = ObjectBinding(crypto.ObjectKind.CONTENT, uuid.uuid4(), uuid.uuid4(), 1)
    keys: list[str] = []
    with (
        pytest.raises(ValueError, match="refused"),
        objects.write_checked(store, binding, [os.urandom(BIG + 1)], on_key=keys.append),
    ):
        raise ValueError("refused")
    assert len(keys) == 1
    assert list(store.iter_blobs()) == []
    assert open_spools(spool_dir) == {}


def test_a_spool_that_cannot_be_made_is_the_store_failing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FileStore(tmp_path / "blobs")
    binding = ObjectBinding(crypto.ObjectKind.CONTENT, uuid.uuid4(), uuid.uuid4(), 1)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "missing"))
    with (
        pytest.raises(StoreUnavailable, match="spool"),
        objects.write_checked(store, binding, [b"data"], on_key=lambda _: None),
    ):
        pass
    assert list(store.iter_blobs()) == []
