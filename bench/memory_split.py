"""Does a casebridge process's peak memory follow a dossier's pages, or its bytes?

One command (from the repository root, after `make setup`):

    .venv/bin/python bench/memory_split.py        # 4 dossiers × 2 rounds, ~4 minutes

Issue 5 asks that no casebridge process be larger at 1.2 GB than at 0.3 GB.
`bench/dossier_transfer.py` compares 1,313 pages with 5,253 pages of the same sizes, so pages
and bytes grow together there. This script moves them apart, with four dossiers:

    A  1,313 pages of 150–300 KB     0.3 GB   the transfer benchmark's small dossier
    B  5,253 pages of 37.5–75 KB     0.3 GB   A's bytes in D's number of pages
    C  1,313 pages of 600–1,200 KB   1.2 GB   A's number of pages with D's bytes
    D  5,253 pages of 150–300 KB     1.2 GB   the transfer benchmark's dossier

Each is packed, pushed into a fresh one-worker hub (HTTPS, encryption at rest, as
`dossier_transfer.py` runs it) and pulled back; the peak RSS (VmHWM) of the hub worker and of
each CLI process is printed, the largest of the rounds. Then B − A is what four times the
pages cost at the same bytes, C − A what four times the bytes cost at the same pages, D − A
both (the transfer benchmark's comparison). B and C also change the page size (a quarter,
four times), which moves whatever is sized by the largest page: read them with that in mind.

A process whose memory followed neither would print 0 in all three. Uses the helpers of
`bench/dossier_transfer.py`, so that both measure the same processes the same way.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import dossier_transfer as bt  # the sibling benchmark, found by the path above
import hub_memory as hm

CASES = {  # name: (pages, smallest page, largest page)
    "A": (1313, 150_000, 300_000),
    "B": (5253, 37_500, 75_000),
    "C": (1313, 600_000, 1_200_000),
    "D": (5253, 150_000, 300_000),
}
PROCESSES = ("hub", "pack", "push", "pull")


def one_round(work: Path, cert: tuple[Path, Path], name: str, seed: int) -> dict[str, float]:
    """Pack, push and pull case ``name``; peak RSS (MB) of each process."""
    pages, lo, hi = CASES[name]
    folder = work / f"split-{name}"
    bt.build_dossier(folder, pages, seed, (lo, hi))
    hub = bt.Hub(work, *cert, workers=1)
    try:
        time.sleep(1.0)  # the worker has finished starting
        worker = hm._worker(hub)
        did = f"SPLIT-{name}-{time.time_ns()}"
        tls = ["--hub", hub.url, "--cacert", str(cert[0]), "--json"]
        peaks: dict[str, float] = {}
        _, peaks["pack"], _ = bt.cli(
            work, "split-pack", "dossier", "pack", str(folder), "--id", did, "--json"
        )
        _, peaks["push"], done = bt.cli(
            work, "split-push", "dossier", "push", str(folder), *tls,
            "--token", hub.tokens["police.handler"],
        )  # fmt: skip
        assert done["status"] == "complete", done
        bt.hand_over(hub, cert[0], did, folder)
        out = work / "split-pulled"
        bt.discard(work, out)
        _, peaks["pull"], pulled = bt.cli(
            work, "split-pull", "dossier", "pull", did, str(out), *tls,
            "--token", hub.tokens["procuratorate.handler"],
        )  # fmt: skip
        assert pulled["pages"] == pages, pulled
        bt.discard(work, out)
        peaks["hub"] = hm._status(worker)["VmHWM"]
    finally:
        hub.stop()
    return peaks


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/casebridge-bench"))
    ap.add_argument("--repeat", type=int, default=2, help="rounds of the four dossiers")
    ap.add_argument("--seed", type=int, default=20261128)
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    print(bt.machine())
    bt.wait_for_inode_aging(args.work)
    cert = bt.self_signed(args.work)
    rounds: dict[str, list[dict[str, float]]] = {name: [] for name in CASES}
    for _ in range(max(1, args.repeat)):  # alternated, so that a slow minute hits every case
        for i, name in enumerate(CASES):
            rounds[name].append(one_round(args.work, cert, name, args.seed + i))
    bt.empty_trash(args.work)
    peak = {name: {p: max(r[p] for r in runs) for p in PROCESSES} for name, runs in rounds.items()}
    print("peak RSS, MB (largest of the rounds; hub: its one worker, after push and pull)")
    width = 38
    print(" " * (4 + width) + "".join(f"{p:>9s}" for p in PROCESSES))
    for name, (pages, lo, hi) in CASES.items():
        gb = pages * (lo + hi) / 2 / 1e9
        label = f"{name}  {pages:5d} pages of {lo // 1000}–{hi // 1000} KB ({gb:.1f} GB)"
        print(f"    {label:{width}s}" + "".join(f"{peak[name][p]:9.1f}" for p in PROCESSES))
        each = "  ".join(f"{p} " + "/".join(f"{r[p]:.1f}" for r in rounds[name]) for p in PROCESSES)
        print(f"        each round: {each}")
    for label, a, b in (
        ("pages ×4, same bytes (B − A)", "B", "A"),
        ("bytes ×4, same pages (C − A)", "C", "A"),
        ("both, as the transfer (D − A)", "D", "A"),
    ):
        diffs = "".join(f"{peak[a][p] - peak[b][p]:+9.1f}" for p in PROCESSES)
        print(f"    {label:{width}s}{diffs}")


if __name__ == "__main__":
    main()
