"""How many packs one hub process receives at once: its memory bound in the number of senders.

A pack being received holds a few MB of the hub process (its unread body, up to 1 MiB; a
batch being formed and one being hashed and sealed; the threads' buffers; `bench/RESULTS.md`),
so memory grew with the number of gateways pushing at once: forty of them on one process
would have needed some 300 MB on top of its 105 MB at rest. Packs beyond
``dossier_pack_slots`` wait, before their body is read; the hub's HTTP protocol reads no
more than :data:`casebridge.hub.tls.BODY_WAIT_HIGH_WATER` of a body the application has not
started reading, so a waiting pack costs about 64 KiB and its connection.

The trade-off: a pack holds its slot while it arrives, so a sender on a slow line holds one
for as long as its pack takes. Size the slots for the senders expected at full speed.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

__all__ = ["PackSlots"]


class PackSlots:
    """At most ``slots`` packs received at once in this process (per event loop: a process
    runs one; tests may run several), with counters the tests read."""

    def __init__(self, slots: int) -> None:
        if slots < 1:
            raise ValueError("slots must be at least 1")
        self.slots = slots
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()
        self.in_use = 0  # packs holding a slot now
        self.peak = 0  # most packs that ever held a slot at once
        self.waited = 0  # packs that found every slot taken

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        with self._lock:
            sem = self._by_loop.get(loop)
            if sem is None:
                sem = self._by_loop[loop] = asyncio.Semaphore(self.slots)
            return sem

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one slot for the ``async with`` block; wait for one if all are taken."""
        sem = self._semaphore()
        if sem.locked():
            with self._lock:
                self.waited += 1
        async with sem:
            with self._lock:
                self.in_use += 1
                self.peak = max(self.peak, self.in_use)
            try:
                yield
            finally:
                with self._lock:
                    self.in_use -= 1
