"""Slabs: buffers of one size, lent as views and reused once nothing refers to them.

Why: bytes that only pass through a process (a request body on its way to the page store,
pages decrypted on their way to a socket) were each a new ``bytes`` of their own size, made
in one thread and freed in another. glibc kept the freed space in holes of every size and
reused it badly, so a hub's heaps grew with every GB it moved (`bench/RESULTS.md`). Slabs
all have one size, so one freed is reused whole; how many there are follows the bytes in
flight at once, not how many have passed.

A slab is free again when the only references to it are the pool's own: every view of it
(``memoryview`` slices included, and any buffer a C function holds) keeps a reference to
it, so a slab is never written while something may still read it.
"""

from __future__ import annotations

import sys
import threading

__all__ = ["Slabs"]


class Slabs:
    """A pool of ``size``-byte slabs; :meth:`take` lends a free one or makes one more."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._all: list[bytearray] = []
        self._lock = threading.Lock()

    def take(self) -> memoryview:
        """A view of a whole slab nothing else refers to (a new one if none is free)."""
        with self._lock:
            for slab in self._all:
                # the references of a free slab: the list, this loop, getrefcount's argument
                if sys.getrefcount(slab) == 3:
                    return memoryview(slab)
            slab = bytearray(self.size)
            self._all.append(slab)
            return memoryview(slab)

    def __len__(self) -> int:
        """How many slabs were made (the most ever in use at once)."""
        return len(self._all)
