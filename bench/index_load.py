"""Opening a big collection of the embedded store: load time, RSS, the GIL held while loading and closing,
and search latency, with the vectors and payloads memory-mapped and read on first use (Cold) or read in
whole when the shard loads (Cached), side by side on the same data (issue 12, goal 3).

    python bench/index_load.py DATA_DIR [--collection bench] [--queries 200] [--rounds 2]

``DATA_DIR`` is a store folder kept by ``bench/index.py --keep``. Each engine segment keeps the memory
placement it was written with, so the other placement is measured on a twin of the collection whose
segment files say the other one (the files themselves are the same in both). Each measurement runs in a
fresh process (a ticker thread ticks every 5 ms meanwhile), after the page cache has been warmed by reading
the shard's files, so that the figures do not depend on what ran before. A third twin, ``before``, is the
store as it was before issue 12's switch-over work: Cached vectors and payloads, payload indexes in RAM
(made again so in a child process). Prints one ``BENCH_JSON`` line.
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
    from sightline.ingest.vectors._edge_collection import current_shard_dir

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
    shard_dir = str(current_shard_dir(data_dir / "collections" / collection))
    for i in range(3):
        shard, out[f"shard_load_{i}"] = timed(ticker, lambda: qe.EdgeShard.load(shard_dir))
        _, out[f"shard_close_{i}"] = timed(ticker, shard.close)
    return out


RAM_INDEXES = """
import sys, qdrant_edge as qe
from sightline.ingest.vectors._edge_collection import _index_schemas
shard = qe.EdgeShard.load(sys.argv[1])
for key, schema in _index_schemas().items():
    plain = qe.PayloadSchemaType.Float if isinstance(schema, qe.FloatIndexParams) else qe.PayloadSchemaType.Keyword
    if isinstance(schema, qe.TextIndexParams):
        plain = qe.TextIndexParams(tokenizer=qe.TokenizerType.Word, lowercase=True, scoring=True)
    shard.update(qe.UpdateOperation.create_field_index(key, plain))
shard.flush()
shard.close()
"""


def before_twin(data_dir: Path, collection: str) -> Path:
    """The store as it was before: vectors and payloads Cached, payload indexes in RAM."""
    target = twin(data_dir, collection, cached=True, name="before")
    for shard in (target / "collections" / collection).glob("shard*"):
        subprocess.run([sys.executable, "-c", RAM_INDEXES, str(shard)], check=True)
    return target


def twin(data_dir: Path, collection: str, cached: bool, name: str = "") -> Path:
    """A copy of the store folder whose segments say Cached (``cached``) or Cold."""
    target = data_dir.with_name(f"{data_dir.name}-twin-{name or ('cached' if cached else 'cold')}")
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(data_dir, target)
    swap = STORAGE if cached else {v: k for k, v in STORAGE.items()}
    for path in (target / "collections" / collection).glob("shard*/segments/*/segment.json"):
        config = json.loads(path.read_text())
        for vector in config["config"]["vector_data"].values():
            vector["storage_type"] = swap.get(vector["storage_type"], vector["storage_type"])
        payload = config["config"]["payload_storage_type"]
        payload["type"] = swap.get(payload["type"], payload["type"])
        path.write_text(json.dumps(config))
    return target


def warm(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as f:
                while f.read(1 << 24):
                    pass


def measure(data_dir: Path, collection: str, queries: int, rounds: int) -> dict:
    folders = {"cold": twin(data_dir, collection, cached=False), "cached": twin(data_dir, collection, cached=True),
               "before": before_twin(data_dir, collection)}
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
    for name in ("cold", "cached", "before"):
        for run in result[name]:
            print(name, json.dumps(run))
    print("BENCH_JSON " + json.dumps(result))


if __name__ == "__main__":
    main()
