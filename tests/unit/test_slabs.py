"""Slabs are lent as views and reused only once nothing refers to them (casebridge.slabs)."""

from __future__ import annotations

import threading

from casebridge.slabs import Slabs


def test_a_slab_is_reused_only_when_no_view_of_it_is_left() -> None:
    slabs = Slabs(64)
    first = slabs.take()
    piece = first[10:20]  # a slice keeps the slab too
    del first
    second = slabs.take()
    assert piece.obj is not second.obj
    assert len(slabs) == 2
    piece[:] = b"x" * 10
    del piece
    third = slabs.take()
    assert len(slabs) == 2  # the first one, free again
    assert third.obj is not second.obj
    assert len(third) == 64


def test_threads_never_share_a_slab() -> None:
    slabs = Slabs(16)
    held: list[memoryview] = []
    lock = threading.Lock()

    def take() -> None:
        for _ in range(50):
            view = slabs.take()
            with lock:
                held.append(view)

    threads = [threading.Thread(target=take) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(v.obj) for v in held}) == len(held) == len(slabs) == 200
