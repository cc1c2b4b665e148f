"""RFC 6962 Merkle tree hashing with a compact frontier: the one implementation behind the
audit log's signed tree heads and a dossier manifest's root.

Why a frontier: the root of n leaves is computed in one pass holding O(log n) hashes, so a
manifest of thousands of pages or a log of millions of events never holds its leaves.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from casebridge.native import sha256 as native_sha256

__all__ = [
    "Frontier",
    "extend",
    "leaf_hash",
    "node_hash",
    "push",
    "root_from_digests",
    "root_from_frontier",
]

Frontier = list[tuple[int, bytes]]  # perfect subtrees (height, root), left to right


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def extend(frontier: Frontier, leaves: Iterable[bytes]) -> None:
    """Append leaf hashes to ``frontier`` in place; O(log n) memory, amortised O(1) each."""
    for leaf in leaves:
        height, node = 0, leaf
        while frontier and frontier[-1][0] == height:
            node = node_hash(frontier.pop()[1], node)
            height += 1
        frontier.append((height, node))


def push(frontier: Frontier, leaf: bytes) -> Frontier:
    """A new frontier with one more leaf hash (the given one is left as it was)."""
    out = list(frontier)
    extend(out, (leaf,))
    return out


def root_from_frontier(frontier: Frontier) -> bytes:
    """MTH of RFC 6962 §2.1: folding the subtrees from the right makes each node's left
    subtree the largest power of two below its size. The empty tree is SHA-256('')."""
    if not frontier:
        return hashlib.sha256(b"").digest()
    root = frontier[-1][1]
    for _, left in reversed(frontier[:-1]):
        root = node_hash(left, root)
    return root


_CHUNK_HEIGHT = 10  # 1,024 leaves per compiled call: a perfect subtree; memory stays bounded


def _append(frontier: Frontier, height: int, node: bytes) -> None:
    """Append the root of a perfect subtree no taller than the frontier's last one."""
    while frontier and frontier[-1][0] == height:
        node = node_hash(frontier.pop()[1], node)
        height += 1
    frontier.append((height, node))


def root_from_digests(blocks: Iterable[bytes]) -> bytes:
    """MTH over leaf digests given as buffers of 32-byte digests, in order (a manifest's
    documents' packed hashes). Compiled where :mod:`casebridge.native` is built: perfect
    subtrees of 1,024 leaves, then the rest as perfect subtrees of decreasing size, go
    into the frontier; else leaf by leaf in Python. The same root either way."""
    frontier: Frontier = []
    if not native_sha256.merkle_compiled():
        for block in blocks:
            extend(frontier, (leaf_hash(block[i : i + 32]) for i in range(0, len(block), 32)))
        return root_from_frontier(frontier)
    chunk = 32 << _CHUNK_HEIGHT
    pending = bytearray()
    for block in blocks:
        pending += block
        while len(pending) >= chunk:
            _append(frontier, _CHUNK_HEIGHT, native_sha256.merkle_root(pending[:chunk]))
            del pending[:chunk]
    count, pos = len(pending) // 32, 0
    for height in reversed(range(_CHUNK_HEIGHT)):
        if count & (1 << height):
            end = pos + (32 << height)
            _append(frontier, height, native_sha256.merkle_root(pending[pos:end]))
            pos = end
    return root_from_frontier(frontier)
