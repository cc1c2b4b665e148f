"""Garbage-collector and heap settings for processes that handle dossiers.

A dossier manifest is tens of thousands of small objects (pages, their dicts, their JSON);
with CPython's default thresholds (a collection every 700 allocations) parsing or writing
one triggers hundreds of collections that each walk everything young, which cost as much as
the work itself (registering a 5,273-page version on the hub: 0.165 s → 0.08 s with the
setting below). Those objects hold no reference cycles, so collecting less often loses
nothing but a little memory between collections.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import threading
from collections.abc import Callable

__all__ = ["TRIM_EVERY", "relax_gc", "trim_heap", "trim_heap_after"]

GEN0_THRESHOLD = 100_000


def relax_gc() -> None:
    """Collect the youngest generation every 100,000 allocations instead of 700."""
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(max(GEN0_THRESHOLD, gc.get_threshold()[0]), gen1, gen2)


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to do
        return None
    return trim


_TRIM = _malloc_trim()
_TRIMMING = threading.Lock()


def trim_heap() -> None:
    """Give the heap's free pages back to the system (glibc ``malloc_trim``).

    Pages travel as buffers of 150–300 KB made in one thread and freed in another; glibc
    keeps the freed space in whichever thread's arena made it, fragmented, so a process's
    RSS crept up with every hundred MB moved although what it held stayed the same. The hub
    calls this after registering a manifest and, through :func:`trim_heap_after`, every
    64 MiB of pages received or served. Every 256 MiB left up to 20 MB untrimmed at the end
    of a push, on which the pull that followed built its own peak: a one-worker hub peaked
    at 167–175 MB after a 1.2 GB push and pull, 158 after 0.3 GB; every 64 MiB, at its
    push's peak (163–166) at either size, for the same CPU (2.4–2.7 s a 1.2 GB push, A/B
    alternated; `bench/RESULTS.md`, 2026-11-28). Not after every pack: the pages given back
    are faulted in again by the next buffers (after every 32 MB pack that cost 8 % of the
    hub's CPU). Skipped if another thread is trimming already.
    """
    if _TRIM is not None and _TRIMMING.acquire(blocking=False):
        try:
            _TRIM(0)
        finally:
            _TRIMMING.release()


TRIM_EVERY = 64 << 20  # bytes moved (received or served) between two trims
_moved = 0
_MOVED = threading.Lock()


def trim_heap_after(nbytes: int) -> None:
    """Count ``nbytes`` of pages moved; trim the heap once every :data:`TRIM_EVERY`."""
    global _moved
    with _MOVED:
        _moved += nbytes
        if _moved < TRIM_EVERY:
            return
        _moved = 0
    trim_heap()
