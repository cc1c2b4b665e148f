"""RFC 6962 / RFC 9162 Merkle tree hashing over audit events, with a compact frontier.

Why Merkle and not only a hash chain: a signed tree head lets anyone check that one event is
in the log (an inclusion proof of log2(n) hashes) without receiving the whole log — what a
court or a supervisor needs when handed one case's events. The hashing and the frontier are
:mod:`casebridge.domain.merkle` (shared with dossier manifests); the proofs are here.
"""

from __future__ import annotations

import hashlib

from casebridge.domain.merkle import Frontier, leaf_hash, node_hash, push, root_from_frontier

__all__ = [
    "Frontier",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "push",
    "root_from_frontier",
    "tree_root",
    "verify_inclusion",
]


def _largest_power_of_two_below(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def tree_root(leaves: list[bytes]) -> bytes:
    """MTH(D[n]) of RFC 6962 §2.1 (leaves are leaf hashes)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = _largest_power_of_two_below(len(leaves))
    return node_hash(tree_root(leaves[:k]), tree_root(leaves[k:]))


def inclusion_proof(index: int, leaves: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 6962 §2.1.1 for the leaf at ``index``."""
    n = len(leaves)
    if not 0 <= index < n:
        raise ValueError(f"leaf {index} is not in a tree of {n}")
    if n == 1:
        return []
    k = _largest_power_of_two_below(n)
    if index < k:
        return [*inclusion_proof(index, leaves[:k]), tree_root(leaves[k:])]
    return [*inclusion_proof(index - k, leaves[k:]), tree_root(leaves[:k])]


def verify_inclusion(index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2 verification of an inclusion proof."""
    if index >= size:
        return False
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root
