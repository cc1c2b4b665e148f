"""The append-only, verifiable audit log: hash chain, Merkle checkpoints, inclusion proofs."""
