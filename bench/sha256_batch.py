"""SHA-256 of pages: hashlib one page at a time (the baseline) against the compiled multi-buffer
kernel (`src/casebridge/native/sha256x.c`) at several batch sizes, and a manifest's Merkle root
in Python against the kernel. One core, no I/O: the pages are in memory.

One command (from the repository root, after `make setup`):

    .venv/bin/python bench/sha256_batch.py

Pages: 64 seeded random pages of 150-300 KB (the benchmark dossier's sizes). Each figure is
the best of ``--repeat`` passes (MB/s of page bytes).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import random
import time

from casebridge.domain import merkle
from casebridge.native import sha256 as native

try:
    import casebridge.native._sha256x as _sha256x

    BUILT = True
except ImportError:
    BUILT = False


def _best(fn: object, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--leaves", type=int, default=5273, help="pages under the Merkle root")
    args = ap.parse_args()
    print(
        f"machine: {platform.node()} · {os.cpu_count()} cores · {platform.platform()}"
        f" · Python {platform.python_version()}"
    )
    sha_ni = "with" if native.cpu_has_sha_ni() else "without"
    print(f"this CPU is {sha_ni} SHA instructions; casebridge hashes pages with {native.KERNEL}")
    rnd = random.Random(20261128)
    pages = [rnd.randbytes(rnd.randint(150_000, 300_000)) for _ in range(64)]
    total = sum(map(len, pages)) / 1e6

    def one_by_one() -> None:
        for p in pages:
            hashlib.sha256(p).digest()

    base = total / _best(one_by_one, args.repeat)
    print(f"{'hashlib, one page at a time (baseline)':44s} {base:6.0f} MB/s")
    kernels = [lanes for lanes in (8, 16) if BUILT and _sha256x.kernel(lanes)]
    if not kernels:
        print("the compiled kernel is not built or this CPU has no AVX2: nothing to compare")
    for lanes in kernels:
        name = _sha256x.kernel(lanes)
        for batch in (4, 8, 16, 64):

            def batched(batch: int = batch, lanes: int = lanes) -> None:
                for i in range(0, len(pages), batch):
                    _sha256x.digests(pages[i : i + batch], lanes)

            rate = total / _best(batched, args.repeat)
            label = f"{name}, batches of {batch} pages"
            print(f"{label:44s} {rate:6.0f} MB/s  ({rate / base:.1f}x)")
    leaves = [rnd.randbytes(32) for _ in range(args.leaves)]

    def python_root() -> None:
        frontier: merkle.Frontier = []
        merkle.extend(frontier, (merkle.leaf_hash(d) for d in leaves))
        merkle.root_from_frontier(frontier)

    slow = _best(python_root, args.repeat)
    print(f"{'Merkle root of ' + str(args.leaves) + ' pages, Python':44s} {slow * 1e3:6.1f} ms")
    if kernels:
        fast = _best(lambda: merkle.root_from_digests([b"".join(leaves)]), args.repeat)
        label = f"Merkle root of {args.leaves} pages, compiled"
        print(f"{label:44s} {fast * 1e3:6.1f} ms  ({slow / fast:.0f}x)")


if __name__ == "__main__":
    main()
