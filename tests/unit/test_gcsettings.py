"""Heap trimming (casebridge.gcsettings): a trim asked for during another is not lost."""

from __future__ import annotations

import threading

import pytest

from casebridge import gcsettings


def test_a_trim_asked_for_while_another_runs_is_done_after_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Four downloads ending together each ask for a trim; memory freed while the first
    # trim runs must still be given back, so the running thread trims once more.
    inside, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def slow_trim(pad: int) -> int:
        calls.append(pad)
        if len(calls) == 1:
            inside.set()
            assert release.wait(5)
        return 1

    monkeypatch.setattr(gcsettings, "_TRIM", slow_trim)
    first = threading.Thread(target=gcsettings.trim_heap)
    first.start()
    assert inside.wait(5)
    for _ in range(3):  # asked for three times meanwhile: returns at once, one more trim
        gcsettings.trim_heap()
    assert calls == [0]
    release.set()
    first.join(5)
    assert calls == [0, 0]
    gcsettings.trim_heap()  # nothing running now: trims in this thread, once
    assert calls == [0, 0, 0]


def test_without_glibc_trimming_is_a_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gcsettings, "_TRIM", None)
    gcsettings.trim_heap()  # does not fail on musl or macOS
