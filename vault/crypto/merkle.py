"""RFC 6962 (§2.1) Merkle trees, as Certificate Transparency and every tlog hash them.

A leaf hashes as SHA-256(0x00 ‖ leaf), an inner node as SHA-256(0x01 ‖ left ‖ right); a tree
of n leaves splits at the largest power of two below n. Every range the splitting reaches on
its left is a complete subtree aligned to its size, so the hashes of complete subtrees
(`stored(level, index)`: the subtree of leaves [index·2^level, (index+1)·2^level)) are all a
log needs to keep to answer any root or audit path without reading every leaf.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

Stored = Callable[[int, int], bytes]
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(size: int) -> int:
    """The largest power of two strictly below `size` (size > 1)."""
    return 1 << ((size - 1).bit_length() - 1)


def subtree_hash(start: int, end: int, stored: Stored) -> bytes:
    """MTH(D[start:end]) for a range the RFC's splitting reaches (start aligned to the split)."""
    size = end - start
    if size == 0:
        return EMPTY_ROOT
    if size & (size - 1) == 0 and start % size == 0:
        level = size.bit_length() - 1
        return stored(level, start >> level)
    k = _split(size)
    return node_hash(subtree_hash(start, start + k, stored), subtree_hash(start + k, end, stored))


def root(size: int, stored: Stored) -> bytes:
    return subtree_hash(0, size, stored)


def inclusion_path(index: int, size: int, stored: Stored) -> list[bytes]:
    """PATH(index, D[0:size]) of RFC 6962 §2.1.1, nearest sibling first."""
    if not 0 <= index < size:
        raise ValueError("the leaf is not in the tree")
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            path.append(subtree_hash(start + k, end, stored))
            end = start + k
        else:
            path.append(subtree_hash(start, start + k, stored))
            start += k
    path.reverse()
    return path


def root_from_inclusion(index: int, size: int, leaf: bytes, path: list[bytes]) -> bytes | None:
    """The root that `path` proves the leaf hash `leaf` at `index` into, by RFC 9162
    §2.1.3.2; None if the path cannot be one for that index and size."""
    if not 0 <= index < size:
        return None
    fn, sn, result = index, size - 1, leaf
    for sibling in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            result = node_hash(result, sibling)
        fn >>= 1
        sn >>= 1
    return result if sn == 0 else None


def completed_by(index: int, leaf: bytes, stored: Stored) -> list[tuple[int, int, bytes]]:
    """The complete subtrees (level ≥ 1, index, hash) that appending leaf hash `leaf` at
    `index` closes: one per trailing one-bit of `index`."""
    nodes = []
    level, position, current = 0, index, leaf
    while position & 1:
        current = node_hash(stored(level, position - 1), current)
        level, position = level + 1, position >> 1
        nodes.append((level, position, current))
    return nodes
