"""The embedded store's vector index: exact search against the HNSW index built in a child process, and
whether the serving process stays responsive while it is built (issue 12, goal 3).

    python bench/index.py [--points 100000] [--dim 128] [--queries 200] [--baseline-s 20] [--threshold-kb KB]
                          [--stores process,inline] [--skip-build] [--load-figures] [--keep DIR]

What it does, through the embedded store (no HTTP), once per ``--stores`` kind side by side: ``process`` is
what the service runs (`EdgeProcessStore`: the engine in a child process, the ticker and searcher below in
this one), ``inline`` the engine in this process (`EdgeStore`):

1. Creates a collection (Cosine, hnsw_m 16, ef_construct 100, int8 quantization) and fills it with
   clustered embeddings (``--clusters`` Gaussian blobs, unit length; uniform noise would understate recall).
2. Exact search: p50 / p95 of ``--queries`` searches (new vectors from the same blobs) before any index.
3. Builds the index with `EdgeStore.build_index` while a ticker thread (ticks every 5 ms) and a searching
   thread run: the ticker's longest gap per phase (copy, child build, and the switch-over's load, catch-up
   and close) and the searches' worst latency say whether the service froze; the build's report gives the
   CPU time of the switch-over's load and close (their thread's), which hold the GIL. The same threads first run
   ``--baseline-s`` without a build: on a busy machine the ticker misses beats anyway, and the baseline says
   how often. ``--skip-build`` stops after step 2.
4. Indexed search: p50 / p95 of the same queries, and recall@10 against a numpy brute-force ground truth.
5. With ``--load-figures``: opens the collection afresh in other processes, as built (what the load would
   read in whole is memory-mapped: Cold) and with its vectors, payloads, int8 vectors and HNSW graph read in
   whole (Cached) side by side (`bench/index_load.py`): load time and CPU, RSS, first and second search pass,
   and the engine's load from disk and from the page cache.

Prints progress, a table and one ``BENCH_JSON`` line. Targets: recall@10 >= 0.98, ticker gaps < 100 ms
during the build.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path

import numpy as np

import index_load
from sightline.ingest.vectors import CollectionParams, Point, VectorStore, open_store

TICK_S = 0.005


def clustered(rng: np.random.Generator, n: int, dim: int, clusters: int, centers: np.ndarray) -> np.ndarray:
    x = centers[rng.integers(0, clusters, n)] + 0.35 * rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def fill(store: VectorStore, data: np.ndarray, batch: int = 2000) -> float:
    t = time.perf_counter()
    for start in range(0, len(data), batch):
        rows = data[start : start + batch]
        store.upsert("bench", [
            Point(str(uuid.UUID(int=start + i + 1)), row.tolist(), {"sort_ts": float(start + i)})
            for i, row in enumerate(rows)
        ])
    return time.perf_counter() - t


def timed_searches(store: VectorStore, queries: np.ndarray, k: int = 10) -> tuple[list[float], list[list[int]]]:
    """Milliseconds per search, and the ids found (as ints)."""
    times, found = [], []
    for q in queries:
        t = time.perf_counter()
        hits = store.search("bench", q.tolist(), limit=k)
        times.append(1000 * (time.perf_counter() - t))
        found.append([uuid.UUID(h.id).int - 1 for h in hits])
    return times, found


def exact_top10(queries: np.ndarray, data: np.ndarray) -> np.ndarray:
    """The ground truth: each query's 10 nearest points by brute force (numpy)."""
    scores = queries @ data.T
    top = np.argpartition(-scores, 10, axis=1)[:, :10]
    order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1)
    return np.take_along_axis(top, order, axis=1)


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def recall(found: list[list[int]], truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t.tolist())) / len(t) for f, t in zip(found, truth, strict=True)]))


class Watch:
    """A ticker thread and a searching thread, run while something else happens in the process."""

    def __init__(self, store: VectorStore, queries: np.ndarray):
        self.store, self.queries = store, queries
        self.stop = threading.Event()
        self.gaps: list[tuple[float, float]] = []  # (when it ended, how long beyond the tick)
        self.search_ms: list[float] = []
        self.threads = [threading.Thread(target=self._tick), threading.Thread(target=self._search)]

    def _tick(self) -> None:
        last = time.perf_counter()
        while not self.stop.wait(TICK_S):
            now = time.perf_counter()
            self.gaps.append((now, now - last - TICK_S))
            last = now

    def _search(self) -> None:
        i = 0
        while not self.stop.is_set():
            t = time.perf_counter()
            self.store.search("bench", self.queries[i % len(self.queries)].tolist(), limit=10)
            self.search_ms.append(1000 * (time.perf_counter() - t))
            i += 1
            self.stop.wait(0.02)

    def __enter__(self) -> Watch:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join()


def max_gaps(gaps: list[tuple[float, float]], start: float, phases: dict[str, float]) -> dict[str, float]:
    """The ticker's longest gap (ms) in each phase of the build, phases given by their durations in order. A
    gap counts in every phase it overlaps (a step that holds the GIL delays the tick due during it)."""
    out = {}
    for name, seconds in phases.items():
        end = start + seconds
        overlapping = (g for t, g in gaps if t - g - TICK_S <= end and t >= start)
        out[f"ticker_max_gap_ms_{name}"] = round(1000 * max(overlapping, default=0.0), 1)
        start = end
    return out


def build_phases(report: dict) -> dict[str, float]:
    """The build's phases in order: copy, child build, then the switch-over's load, catch-up (replay and the
    locked swap) and the old shard's close."""
    catch_up = report["switch_s"] - report["load_s"] - report["close_s"]
    return {"copy": report["copy_s"], "child": report["build_s"], "load": report["load_s"],
            "catch_up": catch_up, "close": report["close_s"] + 0.05}


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def run(args: argparse.Namespace, folder: Path, kind: str) -> dict:
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((args.clusters, args.dim)).astype(np.float32)
    data = clustered(rng, args.points, args.dim, args.clusters, centers)
    queries = clustered(rng, args.queries, args.dim, args.clusters, centers)
    truth = exact_top10(queries, data)
    store = open_store(folder, flush_interval_s=1.0, own_process=kind == "process")
    params = CollectionParams(vector_size=args.dim, hnsw_m=16, hnsw_ef_construct=100, quantization="int8")
    store.create_collection("bench", params)
    progress(f"filling {args.points} points ({args.dim}-d)")
    fill_s = fill(store, data)
    del data
    progress(f"filled in {fill_s:.1f} s; exact searches")
    exact_ms, exact_found = timed_searches(store, queries)
    out = {
        "store": kind, "points": args.points, "dim": args.dim, "fill_s": round(fill_s, 1),
        "exact_p50_ms": round(statistics.median(exact_ms), 2), "exact_p95_ms": round(pct(exact_ms, 95), 2),
        "exact_recall10": round(recall(exact_found, truth), 4),
    }
    progress(str(out))
    if not args.skip_build:
        out.update(build_figures(args, store, queries, truth))
    store.close()
    if args.load_figures:
        out["load_figures"] = index_load.measure(folder, "bench", min(args.queries, 100), 2)
    return out


def build_figures(args: argparse.Namespace, store: VectorStore, queries: np.ndarray, truth: np.ndarray) -> dict:
    """Build the index while a ticker and a searcher run (after as long with no build), then search it."""
    progress(f"idle baseline {args.baseline_s} s")
    with Watch(store, queries) as idle:  # the same threads with no build: what the machine itself costs
        idle.stop.wait(args.baseline_s)
    idle_gaps = [g for _, g in idle.gaps]
    progress("building the index")
    with Watch(store, queries) as watch:
        started = time.perf_counter()
        report = store.build_index("bench", args.threshold_kb)  # type: ignore[attr-defined]
        build_wall_s = time.perf_counter() - started
    gaps = [g for _, g in watch.gaps]
    progress(f"built: {report.to_dict()}")
    indexed_ms, indexed_found = timed_searches(store, queries)
    return {
        "indexed_p50_ms": round(statistics.median(indexed_ms), 2), "indexed_p95_ms": round(pct(indexed_ms, 95), 2),
        "indexed_recall10": round(recall(indexed_found, truth), 4),
        "build_wall_s": round(build_wall_s, 1), **{f"build_{k}": v for k, v in report.to_dict().items()},
        "ticker_max_gap_ms": round(1000 * max(gaps, default=0.0), 1),
        "ticker_gaps_over_100ms_per_min": round(60 * sum(g > 0.1 for g in gaps) / build_wall_s, 1),
        "idle_ticker_max_gap_ms": round(1000 * max(idle_gaps, default=0.0), 1),
        "idle_ticker_gaps_over_100ms_per_min": round(60 * sum(g > 0.1 for g in idle_gaps) / args.baseline_s, 1),
        **max_gaps(watch.gaps, started, build_phases(report.to_dict())),
        "searches_during_build": len(watch.search_ms),
        "search_during_build_max_ms": round(max(watch.search_ms, default=0.0), 1),
        "ignored_params_after": store.collection_info("bench").ignored_params,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--clusters", type=int, default=200)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--baseline-s", type=float, default=20.0, help="the ticker without a build, first")
    parser.add_argument("--threshold-kb", type=int, help="index segments from this many KB of vectors (engine default)")
    parser.add_argument("--stores", default="process,inline", help="process (the service's), inline, or both")
    parser.add_argument("--skip-build", action="store_true", help="fill and search exactly only")
    parser.add_argument("--load-figures", action="store_true",
                        help="then open the built collection afresh, as built and Cached (bench/index_load.py)")
    parser.add_argument("--keep", type=Path, help="build in this folder and keep it")
    args = parser.parse_args()
    results = []
    for kind in args.stores.split(","):
        if args.keep:
            results.append(run(args, args.keep / kind, kind))
        else:
            with tempfile.TemporaryDirectory(prefix="sightline-index-") as tmp:
                results.append(run(args, Path(tmp), kind))
    keys = list(dict.fromkeys(key for result in results for key in result))
    width = max(map(len, keys))
    for key in keys:
        print(f"{key:<{width}}  " + "  ".join(f"{str(result.get(key, '')):<24}" for result in results))
    print("BENCH_JSON " + json.dumps(results))


if __name__ == "__main__":
    main()
