import hashlib
import os
import uuid
from pathlib import Path

import pytest

from storage import FileStore
from vault import crypto
from vault.blobs import objects
from vault.blobs.objects import Edges
from vault.keys import ObjectBinding

CHUNK = 1000
BIG = crypto.CHUNK_SIZE


@pytest.mark.parametrize("size", [1, 999, 1000, 1001, 2500, 3000, 10_007])
@pytest.mark.parametrize("piece", [1, 7, 333, 1000, 4096])
def test_edges_hold_exactly_the_first_and_last_two_chunks(size: int, piece: int) -> None:
    data = os.urandom(size)
    edges = Edges(CHUNK)
    for offset in range(0, size, piece):
        edges.add(data[offset : offset + piece])
    chunks = edges.chunks()
    last = (size - 1) // CHUNK
    assert set(chunks) == {0, max(last - 1, 0), last}
    for index, chunk in chunks.items():
        assert chunk == data[index * CHUNK : (index + 1) * CHUNK]


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
