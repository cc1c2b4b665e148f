"""Encodings shared by the audit repository, the verifier and offline proofs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from casebridge.audit.merkle import Frontier

__all__ = ["checkpoint_message", "decode_frontier", "encode_frontier"]


def encode_frontier(frontier: Frontier) -> list[Any]:
    return [[h, v.hex()] for h, v in frontier]


def decode_frontier(raw: list[Any]) -> Frontier:
    return [(int(h), bytes.fromhex(v)) for h, v in raw]


def checkpoint_message(size: int, root_hex: str, signed_at: datetime) -> bytes:
    """What a checkpoint signature covers: domain tag, tree size, root, time."""
    return f"casebridge-audit-checkpoint/v1\n{size}\n{root_hex}\n{signed_at.isoformat()}".encode()
