"""The blob store protocol every backend implements (and one contract test suite checks)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Protocol

__all__ = ["BlobStore", "check_key"]

_HASH = re.compile(r"[0-9a-f]{64}")


class BlobStore(Protocol):
    """Immutable, content-addressed objects.

    ``put`` of a key that exists is a no-op (content addressing: same key, same content).
    Writes become durable at ``sync()`` — once per pack, not per page — and a caller may only
    acknowledge a blob after ``sync()`` returned.
    """

    def put(self, key: str, data: bytes) -> bool:
        """Store ``data`` under ``key``; False if the key was already there."""
        ...

    def get(self, key: str) -> bytes:
        """The stored bytes, or :class:`casebridge.errors.NotFound`."""
        ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove a blob; removing a missing key is not an error."""
        ...

    def sync(self) -> None:
        """Make every ``put`` so far durable."""
        ...

    def keys(self) -> Iterator[str]: ...


def check_key(key: str) -> str:
    """Keys are 64 lower-case hex digits: anything else could escape the store's namespace."""
    if not _HASH.fullmatch(key):
        raise ValueError(f"blob key must be 64 lower-case hex digits, got {key[:80]!r}")
    return key
