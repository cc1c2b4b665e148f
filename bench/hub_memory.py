"""Hub worker memory: does it follow the size of a dossier, or the bytes a process has moved?

One command (from the repository root, after `make setup`):

    .venv/bin/python bench/hub_memory.py        # 4 dossiers of 0.3 GB, then 1 of 1.2 GB

Issue 5 asks that no casebridge process be larger at 1.2 GB than at 0.3 GB, and
`bench/dossier_transfer.py` shows the hub's worker a few MB larger after the 1.2 GB push. This
script tells the two possible causes apart. It starts a one-worker hub (HTTPS, encryption at
rest, as `dossier_transfer.py` runs it) and pushes ``--count`` distinct dossiers of
``--pages`` pages one after another, printing the worker's RSS and peak RSS (VmHWM) after
each. Then it starts a fresh hub and pushes one dossier of ``count × pages`` pages: the same
bytes in one dossier. If memory followed the dossier's size, the one large dossier would peak
higher; if it follows the bytes a process has moved, the series of small ones peaks as high or
higher, and the RSS after each small push keeps rising. Last, ``--pulls`` downloads of one
dossier from one worker (no new data, no new manifest: only bytes served), RSS and peak after
each: a process that only serves should stay flat.

Uses the helpers of `bench/dossier_transfer.py` (its Hub, its synthetic dossiers, its CLI
runner) so that both measure the same hub the same way.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import dossier_transfer as bt  # the sibling benchmark, found by the path above


def _status(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of one process, in MB."""
    out: dict[str, float] = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) / 1024
    return out


def _worker(hub: bt.Hub) -> int:
    """The process that serves requests: the hub itself when it runs one worker."""
    return (hub._children() or [hub.proc.pid])[0]


def _push(hub: bt.Hub, work: Path, cacert: Path, pages: int, seed: int, did: str) -> float:
    """Build (once), pack and push one synthetic dossier; the push's seconds."""
    folder = work / f"memory-{pages}-{seed}"
    bt.build_dossier(folder, pages, seed)
    bt.cli(work, "pack", "dossier", "pack", str(folder), "--id", did, "--json")
    seconds, _, done = bt.cli(
        work, "push", "dossier", "push", str(folder), "--hub", hub.url, "--cacert", str(cacert),
        "--json", "--token", hub.tokens["police.handler"], "--parallel", "4",
    )  # fmt: skip
    assert done["status"] == "complete", done
    return seconds


def push_series(
    work: Path, cert: tuple[Path, Path], sizes: list[int], seed: int
) -> list[tuple[float, float, float]]:
    """Push one dossier per entry of ``sizes`` (pages) into one fresh one-worker hub;
    (seconds, RSS, peak RSS) of the worker after each push."""
    hub = bt.Hub(work, *cert, workers=1)
    rows = []
    try:
        time.sleep(1.0)  # the worker has finished starting
        pid = _worker(hub)
        for i, pages in enumerate(sizes):
            seconds = _push(hub, work, cert[0], pages, seed + i, f"MEM-{pages}-{seed + i}")
            st = _status(pid)
            rows.append((seconds, st["VmRSS"], st["VmHWM"]))
    finally:
        hub.stop()
    return rows


def pull_series(
    work: Path, cert: tuple[Path, Path], pages: int, pulls: int, seed: int
) -> list[tuple[float, float, float]]:
    """Push one dossier, then download it ``pulls`` times from the same one-worker hub;
    (seconds, RSS, peak RSS) of the worker after the push and after each pull."""
    hub = bt.Hub(work, *cert, workers=1)
    rows = []
    try:
        time.sleep(1.0)
        pid = _worker(hub)
        did = f"MEM-PULL-{seed}"
        seconds = _push(hub, work, cert[0], pages, seed, did)
        bt.hand_over(hub, cert[0], did, work / f"memory-{pages}-{seed}")
        tls = ["--hub", hub.url, "--cacert", str(cert[0]), "--json"]
        st = _status(pid)
        rows.append((seconds, st["VmRSS"], st["VmHWM"]))
        for i in range(pulls):
            out = work / f"memory-pulled-{i}"
            bt.discard(work, out)
            seconds, _, done = bt.cli(
                work, "pull", "dossier", "pull", did, str(out), *tls,
                "--token", hub.tokens["procuratorate.handler"],
            )  # fmt: skip
            assert done["pages"] == pages, done
            bt.discard(work, out)
            time.sleep(0.5)  # the response is over: what the worker holds at rest
            st = _status(pid)
            rows.append((seconds, st["VmRSS"], st["VmHWM"]))
    finally:
        hub.stop()
        bt.empty_trash(work)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/casebridge-bench"))
    ap.add_argument("--pages", type=int, default=1313, help="pages of each small dossier")
    ap.add_argument("--count", type=int, default=4, help="small dossiers pushed in a row")
    ap.add_argument("--pulls", type=int, default=6, help="downloads of one dossier in a row")
    ap.add_argument("--seed", type=int, default=20261128)
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    print(bt.machine())
    cert = bt.self_signed(args.work)
    small = push_series(args.work, cert, [args.pages] * args.count, args.seed)
    big = push_series(args.work, cert, [args.pages * args.count], args.seed + 1000)
    served = pull_series(args.work, cert, args.pages, args.pulls, args.seed)
    gb = args.pages * 225_000 / 1e9  # pages average 225 KB (150–300 KB, uniform)
    print(f"one hub worker, {args.count} dossiers of {args.pages} pages (≈ {gb:.1f} GB) in a row:")
    print("    push   seconds   RSS after (MB)   peak so far (MB)")
    for i, (seconds, rss, hwm) in enumerate(small, 1):
        print(f"    {i:4d}   {seconds:7.2f}   {rss:14.1f}   {hwm:16.1f}")
    seconds, rss, hwm = big[0]
    print(
        f"a fresh hub worker, 1 dossier of {args.pages * args.count} pages"
        f" (≈ {gb * args.count:.1f} GB):"
    )
    print(f"    {1:4d}   {seconds:7.2f}   {rss:14.1f}   {hwm:16.1f}")
    first, last = small[0], small[-1]
    print(
        f"the same bytes moved: peak {last[2]:.1f} MB as {args.count} dossiers,"
        f" {hwm:.1f} MB as one ({hwm - last[2]:+.1f} MB for the one large dossier)"
    )
    print(
        f"creep over the series: RSS after a push {first[1]:.1f} → {last[1]:.1f} MB"
        f" ({(last[1] - first[1]) / max(1, args.count - 1):+.1f} MB a dossier)"
    )
    print(f"one hub worker, 1 dossier of {args.pages} pages pushed, pulled {args.pulls} times:")
    print("    step   seconds   RSS after (MB)   peak so far (MB)")
    for i, (seconds, rss, hwm) in enumerate(served):
        step = "push" if i == 0 else f"{i:4d}"
        print(f"    {step:>4s}   {seconds:7.2f}   {rss:14.1f}   {hwm:16.1f}")
    print(
        f"serving {args.pulls} × ≈ {gb:.1f} GB: peak {served[0][2]:.1f} → {served[-1][2]:.1f} MB,"
        f" RSS at rest {served[0][1]:.1f} → {served[-1][1]:.1f} MB"
    )


if __name__ == "__main__":
    main()
