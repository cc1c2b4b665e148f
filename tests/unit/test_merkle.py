"""RFC 6962 Merkle hashing: the incremental frontier equals the recursive root, and every
inclusion proof verifies — and fails for any other leaf, index or root."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from casebridge.audit.merkle import (
    inclusion_proof,
    leaf_hash,
    push,
    root_from_frontier,
    tree_root,
    verify_inclusion,
)


@settings(max_examples=200)
@given(st.lists(st.binary(min_size=1, max_size=8), min_size=1, max_size=70), st.data())
def test_frontier_root_and_inclusion_proofs(items: list[bytes], data: st.DataObject) -> None:
    leaves = [leaf_hash(x) for x in items]
    frontier: list[tuple[int, bytes]] = []
    for leaf in leaves:
        frontier = push(frontier, leaf)
    root = tree_root(leaves)
    assert root_from_frontier(frontier) == root
    i = data.draw(st.integers(0, len(leaves) - 1))
    proof = inclusion_proof(i, leaves)
    assert verify_inclusion(i, len(leaves), leaves[i], proof, root)
    assert not verify_inclusion(i, len(leaves), leaf_hash(b"forged"), proof, root)
    if len(leaves) > 1:
        j = (i + 1) % len(leaves)
        assert (
            not verify_inclusion(j, len(leaves), leaves[i], proof, root) or leaves[i] == leaves[j]
        )


def test_known_small_trees() -> None:
    a, b, c = (leaf_hash(x) for x in (b"a", b"b", b"c"))
    from casebridge.audit.merkle import node_hash

    assert tree_root([a]) == a
    assert tree_root([a, b]) == node_hash(a, b)
    assert tree_root([a, b, c]) == node_hash(node_hash(a, b), c)
