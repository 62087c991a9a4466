import os

import pytest

from vault.blobs.objects import Edges

CHUNK = 1000


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
