"""Garbage-collector settings for processes that handle dossiers.

A dossier manifest is tens of thousands of small objects (pages, their dicts, their JSON);
with CPython's default thresholds (a collection every 700 allocations) parsing or writing
one triggers hundreds of collections that each walk everything young, which cost as much as
the work itself (registering a 5,273-page version on the hub: 0.165 s → 0.08 s with the
setting below). Those objects hold no reference cycles, so collecting less often loses
nothing but a little memory between collections.
"""

from __future__ import annotations

import gc

__all__ = ["relax_gc"]

GEN0_THRESHOLD = 100_000


def relax_gc() -> None:
    """Collect the youngest generation every 100,000 allocations instead of 700."""
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(max(GEN0_THRESHOLD, gc.get_threshold()[0]), gen1, gen2)
