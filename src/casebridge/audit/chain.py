"""Canonical form and hash of one audit event; the chain links each to its predecessor."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

__all__ = ["GENESIS", "canonical_event", "event_hash"]

GENESIS = "0" * 64


def canonical_event(fields: dict[str, Any]) -> bytes:
    """Sorted-key compact JSON of the event's fields (datetimes as ISO 8601 UTC)."""

    def default(o: object) -> str:
        if isinstance(o, datetime):
            return o.isoformat()
        raise TypeError(f"cannot hash {type(o).__name__}")

    return json.dumps(
        fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=default
    ).encode()


def event_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    return hashlib.sha256(bytes.fromhex(prev_hash) + canonical_event(fields)).hexdigest()
