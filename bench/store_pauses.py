"""Whether the embedded store's writes pause the serving process: a ticker and a searcher in this process while
a writer upserts, the store in a process of its own (``process``, the service's default) or in this one
(``inline``), on an idle disk and beside a process that writes and fsyncs 64 MB at a time (issue 12, goal 3).

    python bench/store_pauses.py [--batches 200] [--batch 100] [--dim 384] [--rounds 2] [--flush-seconds 0]
                                 [--dir DIR]

qdrant-edge-py's `EdgeShard.flush` holds the GIL while it waits for the disk; the store flushes after every
write by default here (``--flush-seconds`` 0, the service's ``SIGHTLINE_STORE_FLUSH_SECONDS=0``; the service's
default is 1), so each upsert is a flush. The searcher times each search from before its call: in the ``inline``
variant a search that waits for the GIL waits before its clock starts, which only the ticker shows. Per variant:
the ticker's longest gap and gaps over 100 ms (it ticks every 5 ms), the searches' worst latency, upsert p50 /
p95, and CPU (this process and the store's). The variants alternate, ``--rounds`` times. ``--dir`` must be on a
real disk (not tmpfs: its fsync waits for nothing). Prints a table and one ``BENCH_JSON`` line.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

import common
import index
from sightline.ingest.vectors import CollectionParams, Point, open_store

HOG = """
import os, sys
block = os.urandom(1 << 20)
with open(sys.argv[1], "wb") as f:
    while True:
        for _ in range(64):
            f.write(block)
        f.flush()
        os.fsync(f.fileno())
        f.seek(0)
"""


def one_run(args: argparse.Namespace, folder: Path, kind: str, busy_disk: bool) -> dict:
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((args.batches * args.batch, args.dim)).astype(np.float32)
    store = open_store(folder / kind, flush_interval_s=args.flush_seconds, own_process=kind == "process")
    hog = subprocess.Popen([sys.executable, "-c", HOG, str(folder / "hog.bin")]) if busy_disk else None
    upsert_ms: list[float] = []
    try:
        store.create_collection("bench", CollectionParams(vector_size=args.dim))
        store.upsert("bench", [Point(str(uuid.UUID(int=1)), vectors[0].tolist(), {})])
        cpu = common.cpu_with_store_seconds(store)
        with index.Watch(store, vectors[:50]) as watch:
            began = time.perf_counter()
            for b in range(args.batches):
                rows = vectors[b * args.batch : (b + 1) * args.batch]
                points = [Point(str(uuid.UUID(int=b * args.batch + i + 2)), row.tolist(), {"b": b})
                          for i, row in enumerate(rows)]
                t = time.perf_counter()
                store.upsert("bench", points)
                upsert_ms.append(1000 * (time.perf_counter() - t))
            wall = time.perf_counter() - began
        cpu = common.cpu_with_store_seconds(store) - cpu
    finally:
        if hog is not None:
            hog.kill()
            hog.wait()
        store.close()
    gaps = [g for _, g in watch.gaps]
    return {
        "ticker_max_gap_ms": round(1000 * max(gaps, default=0.0), 1),
        "ticker_gaps_over_100ms": sum(g > 0.1 for g in gaps),
        "search_max_ms": round(max(watch.search_ms, default=0.0), 1),
        "search_p50_ms": round(statistics.median(watch.search_ms), 2) if watch.search_ms else None,
        "upsert_p50_ms": round(statistics.median(upsert_ms), 1),
        "upsert_p95_ms": round(float(np.percentile(upsert_ms, 95)), 1),
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--flush-seconds", type=float, default=0.0, help="the store's flush interval")
    parser.add_argument("--dir", type=Path, default=Path.home(), help="where the stores go (a real disk)")
    args = parser.parse_args()
    results: dict[str, list[dict]] = {}
    for round_ in range(args.rounds):
        for busy_disk in (False, True):
            kinds = ["process", "inline"] if round_ % 2 == 0 else ["inline", "process"]
            for kind in kinds:
                with tempfile.TemporaryDirectory(prefix="sightline-pauses-", dir=args.dir) as tmp:
                    name = f"{kind}, {'busy' if busy_disk else 'idle'} disk"
                    result = one_run(args, Path(tmp), kind, busy_disk)
                    common.log(f"{name}: {result}")
                    results.setdefault(name, []).append(result)
    lines = [f"{'variant':<22} " + "  ".join(f"{key:>24}" for key in next(iter(results.values()))[0])]
    for name, runs in results.items():
        for run in runs:
            lines.append(f"{name:<22} " + "  ".join(f"{str(value):>24}" for value in run.values()))
    common.emit("store_pauses", {"runs": results, "machine": common.machine_info()}, lines)


if __name__ == "__main__":
    main()
