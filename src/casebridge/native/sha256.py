"""SHA-256 of many pages at once, on the fastest path this CPU has.

Why: the hub hashes every page it receives and a receiver every page it downloads. Where
the CPU has SHA instructions (SHA-NI), OpenSSL hashes a page at ~1.5–2 GB/s and
:mod:`hashlib` is best. Where it has not (seen on this project's own VM hosts: a Xeon with
AVX-512 and no SHA-NI), one page at a time runs at ~200 MB/s a core, and hashing alone was
6 CPU-seconds of a 1.2 GB push. Pages are independent, so the compiled kernel
(``sha256x.c``) hashes 8 (AVX2) or 16 (AVX-512) of them side by side: ~4x the throughput
for batches of 16 pages (``bench/RESULTS.md``). The digests are plain SHA-256 either way.

Callers gather :data:`BATCH` pages before calling :func:`digests` (one page at a time is
best for hashlib, so ``BATCH`` is 1 there).

The ``sha256`` setting (``CASEBRIDGE_SHA256``) chooses: ``auto`` (default: the kernel on a CPU
without SHA-NI, else hashlib), ``hashlib`` or ``simd`` (the kernel wherever it runs; for tests
and benchmarks). The environment is read at import, so that the gateway commands, which load
no settings, follow it too; :func:`configure` applies the hub's settings (a settings file).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import os
from collections.abc import Sequence
from types import ModuleType
from typing import TypeAlias

__all__ = [
    "BATCH",
    "BATCH_BYTES",
    "CHOICES",
    "KERNEL",
    "Buffer",
    "configure",
    "cpu_has_sha_ni",
    "digests",
    "kernel_for",
    "merkle_compiled",
    "merkle_root",
]

Buffer: TypeAlias = bytes | bytearray | memoryview

_ext: ModuleType | None = None
with contextlib.suppress(ImportError):  # not built (no compiler where it was installed)
    _ext = importlib.import_module("casebridge.native._sha256x")

# Fewer pages than this go to hashlib even with the kernel: its lanes would mostly idle
# (measured: 4 pages of 150-300 KB 214-228 MB/s with either kernel, hashlib 195 MB/s).
_MIN_PAGES = 4


def cpu_has_sha_ni() -> bool:
    """Whether this CPU has the SHA extensions (Linux's ``sha_ni`` flag)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("flags"):
                    return "sha_ni" in line.split()
    except OSError:
        pass
    return False


CHOICES = ("auto", "hashlib", "simd")


def kernel_for(choice: str, *, sha_ni: bool | None = None) -> str:
    """The path a ``CASEBRIDGE_SHA256`` value selects here: ``hashlib`` or a kernel name."""
    if choice not in CHOICES:
        raise ValueError(f"CASEBRIDGE_SHA256 must be auto, hashlib or simd, not {choice!r}")
    simd = _ext.kernel() if _ext is not None else None
    if choice == "hashlib" or simd is None:
        return "hashlib"
    if choice == "auto" and (cpu_has_sha_ni() if sha_ni is None else sha_ni):
        return "hashlib"
    return str(simd)


_CHOICE = "auto"
KERNEL = "hashlib"
BATCH = 1  # pages worth gathering before calling digests(): 16 for a kernel (both kernels'
# best: 8 lanes refill), 1 for hashlib. Read it when needed: configure() changes it.
# The buffer a batch of pages is gathered in (the hub's joins, a download stream's pages, a
# `pack` thread's files): 16 pages of up to 320 KB, made once at this size so that it never
# grows with the pages seen. Larger pages make smaller batches.
BATCH_BYTES = 5 << 20


def configure(choice: str) -> None:
    """Select the hashing path (a ``sha256`` setting: see :data:`CHOICES`)."""
    global _CHOICE, KERNEL, BATCH
    KERNEL = kernel_for(choice)
    _CHOICE = choice
    BATCH = 1 if KERNEL == "hashlib" else 16


_FROM_ENV = os.environ.get("CASEBRIDGE_SHA256", "auto")
# A value that is none of CHOICES is reported by whoever reads the settings (the command
# line's start, the hub's settings), as one line naming it; importing never fails.
configure(_FROM_ENV if _FROM_ENV in CHOICES else "auto")


def digests(buffers: Sequence[Buffer], kernel: str | None = None) -> list[bytes]:
    """The 32-byte SHA-256 of each buffer, in order. The GIL is released while hashing."""
    use = KERNEL if kernel is None else kernel
    if use == "hashlib" or len(buffers) < _MIN_PAGES or _ext is None:
        return [hashlib.sha256(b).digest() for b in buffers]
    lanes = 16 if use.endswith("x16") else 8
    raw = _ext.digests(buffers, lanes)
    return [raw[i : i + 32] for i in range(0, len(raw), 32)]


def merkle_compiled() -> bool:
    """Whether :func:`merkle_root` runs here: the kernel is built, this CPU runs it, and
    ``CASEBRIDGE_SHA256`` is not ``hashlib``.

    Used even where hashlib hashes pages faster (SHA-NI): a tree's thousands of one-block
    hashes cost Python ~2.5 µs each and the kernel a fraction of that (13 ms → 1 ms for
    5,273 pages).
    """
    return _ext is not None and _CHOICE != "hashlib" and _ext.kernel() is not None


def merkle_root(digests: Buffer) -> bytes:
    """RFC 6962 tree hash over leaf digests (32 bytes each, concatenated), computed by the
    compiled kernel (only where :func:`merkle_compiled`)."""
    assert _ext is not None
    root: bytes = _ext.merkle_root(digests)
    return root
