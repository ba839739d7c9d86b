"""Opening a big collection of the embedded store: load time, RSS, the GIL held while loading and closing,
and search latency, with what a build writes memory-mapped and read on first use (Cold: as built now) or read
in whole when the shard loads (Cached: vectors, payloads, int8 vectors and HNSW graph), side by side on the
same data (issue 12, goal 3).

    python bench/index_load.py DATA_DIR [--collection bench] [--queries 200] [--rounds 2]

``DATA_DIR`` is a store folder kept by ``bench/index.py --keep``. Each engine segment keeps the memory
placement it was written with, so the other placement is measured on a twin of the collection whose
segment files say the other one (the files themselves are the same in both; the id tracker's placement is a
file format, so both twins keep the built one). Each measurement runs in a fresh process (a ticker thread
ticks every 5 ms meanwhile), after the page cache has been warmed by reading the shard's files.

In each process: the store's first open (its probe child, reading the files back, the load), searches, the
store's close, and then the engine's load and close of the shard alone, as the switch-over does them: twice
as they come (the engine's close drops the shard's files from the page cache, so these loads read them from
disk) and once after `_edge_collection.read_into_page_cache` (what the build's child does before the
switch-over). Prints one ``BENCH_JSON`` line.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

TICK_S = 0.005
STORAGE = {  # segment.json storage types: Cold → Cached
    "Mmap": "InRamMmap", "ChunkedMmap": "InRamChunkedMmap", "mmap": "in_ram_mmap",
}
LOADS = ("evicted_0", "evicted_1", "read_back")


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


class Ticker:
    def __init__(self) -> None:
        self.gaps: list[tuple[float, float]] = []  # (when it began, how long beyond the tick)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._tick, daemon=True)
        self.thread.start()

    def _tick(self) -> None:
        last = time.perf_counter()
        while not self.stop.wait(TICK_S):
            now = time.perf_counter()
            self.gaps.append((last, now - last - TICK_S))
            last = now

    def max_gap_ms(self, start: float, end: float) -> float:
        """The longest gap that overlaps ``start``..``end``."""
        return round(1000 * max((g for t, g in self.gaps if t <= end and t + g + TICK_S >= start), default=0.0), 1)


def timed(ticker: Ticker, step) -> tuple[object, dict]:
    """Run ``step``: its wall and CPU milliseconds and the ticker's longest gap meanwhile."""
    time.sleep(0.05)
    t0, c0 = time.perf_counter(), time.process_time()
    out = step()
    t1, c1 = time.perf_counter(), time.process_time()
    time.sleep(0.05)
    return out, {"wall_ms": round(1000 * (t1 - t0), 1), "cpu_ms": round(1000 * (c1 - c0), 1),
                 "ticker_max_gap_ms": ticker.max_gap_ms(t0, t1)}


def probe(data_dir: Path, collection: str, queries: int) -> dict:
    """In a fresh process: open the store and the collection, search, close."""
    import qdrant_edge as qe

    from sightline.ingest.vectors import open_store
    from sightline.ingest.vectors._edge_collection import current_shard_dir, read_into_page_cache

    ticker = Ticker()
    before = rss_mib()
    store = open_store(data_dir)
    info, load = timed(ticker, lambda: store.collection_info(collection))  # loads the shard
    dim = info.params.vector_size
    rng = np.random.default_rng(1)
    centers = np.random.default_rng(0).standard_normal((200, dim)).astype(np.float32)  # bench/index.py's blobs
    qs = centers[rng.integers(0, 200, queries)] + 0.35 * rng.standard_normal((queries, dim)).astype(np.float32)
    out = {"points": info.points_count, "load": load, "rss_after_load_mib": round(rss_mib() - before, 1)}
    for name in ("first", "second"):
        ms = []
        for q in qs:
            t = time.perf_counter()
            store.search(collection, q.tolist(), limit=10)
            ms.append(1000 * (time.perf_counter() - t))
        out[f"search_p50_ms_{name}_pass"] = round(statistics.median(ms), 2)
        out[f"search_p95_ms_{name}_pass"] = round(float(np.percentile(ms, 95)), 2)
    out["rss_after_searches_mib"] = round(rss_mib() - before, 1)
    _, out["close"] = timed(ticker, store.close)
    # The switch-over's two steps alone: the engine's load of the shard, and its close (no probe child).
    shard_dir = current_shard_dir(data_dir / "collections" / collection)
    for name in LOADS:
        if name == "read_back":
            read_into_page_cache(shard_dir)
        shard, out[f"shard_load_{name}"] = timed(ticker, lambda: qe.EdgeShard.load(str(shard_dir)))
        _, out[f"shard_close_{name}"] = timed(ticker, shard.close)
    return out


def twin(data_dir: Path, collection: str, cached: bool) -> Path:
    """A copy of the store folder whose segments say Cached (``cached``) or Cold."""
    target = data_dir.with_name(f"{data_dir.name}-twin-{'cached' if cached else 'cold'}")
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(data_dir, target)
    swap = STORAGE if cached else {v: k for k, v in STORAGE.items()}
    memory = "cached" if cached else "cold"
    for path in (target / "collections" / collection).glob("shard*/segments/*/segment.json"):
        config = json.loads(path.read_text())
        for vector in config["config"]["vector_data"].values():
            vector["storage_type"] = swap.get(vector["storage_type"], vector["storage_type"])
            if vector["index"]["type"] == "hnsw":
                vector["index"]["options"]["memory"] = memory
            if vector.get("quantization_config"):
                set_quantization_memory(vector["quantization_config"], memory)
                quantized = path.parent / "vector_storage" / "quantized.config.json"
                stored = json.loads(quantized.read_text())
                set_quantization_memory(stored["quantization_config"], memory)
                quantized.write_text(json.dumps(stored))
        payload = config["config"]["payload_storage_type"]
        payload["type"] = swap.get(payload["type"], payload["type"])
        path.write_text(json.dumps(config))
    return target


def set_quantization_memory(config: dict, memory: str) -> None:
    for kind in config.values():
        kind.pop("always_ram", None)
        kind["memory"] = memory


def warm(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as f:
                while f.read(1 << 24):
                    pass


def measure(data_dir: Path, collection: str, queries: int, rounds: int) -> dict:
    folders = {"cold": twin(data_dir, collection, cached=False), "cached": twin(data_dir, collection, cached=True)}
    results: dict[str, list[dict]] = {name: [] for name in folders}
    try:
        for _ in range(rounds):
            for name, folder in folders.items():
                warm(folder)
                done = subprocess.run([sys.executable, __file__, "--probe", str(folder), "--collection", collection,
                                       "--queries", str(queries)], capture_output=True, text=True)
                if done.returncode:
                    raise SystemExit(f"the {name} probe failed: {done.stderr.strip()[-2000:]}")
                results[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
    finally:
        for folder in folders.values():
            shutil.rmtree(folder, ignore_errors=True)
    return {name: runs for name, runs in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--collection", default="bench")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        print(json.dumps(probe(args.data_dir, args.collection, args.queries)))
        return
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    result = {"loadavg": load, **measure(args.data_dir, args.collection, args.queries, args.rounds)}
    for name in ("cold", "cached"):
        for run in result[name]:
            print(name, json.dumps(run))
    print("BENCH_JSON " + json.dumps(result))


if __name__ == "__main__":
    main()
