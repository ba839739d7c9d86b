"""Merging one collection into another at scale: the copy itself before and after, and through the API with
searches answered meanwhile.

    python bench/merge.py [--points 100000] [--no-compare]

Writes ``--points`` 384-d vectors with photo-like payloads into collection ``a`` of a real embedded store and
100 into ``b``.
1. Side by side in this process (nothing else running in it): the merge as it was at the last commit
   (``git show HEAD:src/sightline/ingest/review/merge.py``, if it still has the old ``merge(vectors, settings,
   source, into)``) and the current one, each copying ``a`` into an empty collection: wall and CPU seconds.
2. Starts the ingestion service in this process (uvicorn on 127.0.0.1) and merges ``a`` into ``b`` with
   ``POST /api/v1/collections/a/merge``: seconds until the answer (200 with the outcome before; 202 with a task
   now), wall seconds until the outcome is known (following the task), and the process's CPU seconds (the
   searches' share included). A second thread runs "more like this" searches in ``b`` for 3 s before and then
   during the merge: their count and median / p95 latency. Then merges again: the same files, nothing added.

Prints one BENCH_JSON line and a summary.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import numpy as np

import common

sys.path.insert(0, str(common.REPO_ROOT))

DIM = 384
WRITE_PAGE = 2000


def payload(index: int) -> dict:
    folder = f"/photos/{2000 + index % 20}/{index % 300:03d}"
    return {"path": f"{folder}/IMG_{index:06d}.jpg", "filename": f"IMG_{index:06d}.jpg", "folder": folder,
            "folder_prefixes": [folder, folder.rsplit("/", 1)[0], "/photos", "/"], "format": "jpeg",
            "width": 4000, "height": 3000, "bytes": 3_000_000 + index, "sha256": f"{index:064x}",
            "sort_ts": 1.6e9 + index * 60.0, "date_source": "exif", "camera": "Canon EOS R5",
            "caption": f"a photo of a beach number {index % 97}", "words": ["img", str(index), "beach", "jpeg"]}


def write_collections(data_dir: Path, points: int) -> None:
    from sightline.ingest.vectors import CollectionParams, Point, open_store

    rng = np.random.default_rng(0)
    with open_store(data_dir) as store:
        for name in ("a", "b"):
            store.create_collection(name, CollectionParams(vector_size=DIM))
        for start in range(0, points, WRITE_PAGE):
            vectors = rng.normal(size=(min(WRITE_PAGE, points - start), DIM)).astype(np.float32)
            store.upsert("a", [Point(str(uuid.uuid4()), v.tolist(), payload(start + i)) for i, v in enumerate(vectors)])
        store.upsert("b", [Point(str(uuid.uuid4()), rng.normal(size=DIM).tolist(), payload(points + i))
                           for i in range(100)])


def committed_merge():
    """The merge function of the last commit, or None when it is not the old in-request one."""
    text = subprocess.run(["git", "show", "HEAD:src/sightline/ingest/review/merge.py"], cwd=common.REPO_ROOT,
                          capture_output=True, text=True, check=False).stdout
    if "def merge(vectors: VectorStore, settings: IngestSettings, source: str, into: str) -> dict:" not in text:
        return None
    path = Path(tempfile.mkdtemp()) / "committed_merge.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("committed_merge", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return lambda store, settings, source, into: module.merge(store, settings, source, into)


def compare(data_dir: Path) -> dict:
    """The committed merge and the current one, each into an empty collection: wall and CPU seconds."""
    from sightline.config import IngestSettings
    from sightline.ingest.review.merge import merge
    from sightline.ingest.review.tasks import Progress, Task
    from sightline.ingest.vectors import CollectionParams, open_store

    settings = IngestSettings(ml_url="http://127.0.0.1:9", data_dir=data_dir, ingest_roots="")
    runs = {"current": lambda store, *names: merge(store, settings, *names, Progress(Task("t", "merge", "a")))}
    if (old := committed_merge()) is not None:
        runs = {"committed": lambda store, *names: old(store, settings, *names), **runs}
    figures = {}
    with open_store(data_dir) as store:
        for label, run in runs.items():
            store.create_collection(label, CollectionParams(vector_size=DIM))
            started, cpu = time.perf_counter(), common.process_cpu_seconds()
            outcome = run(store, "a", label)
            figures[label] = {"wall_s": time.perf_counter() - started, "cpu_s": common.process_cpu_seconds() - cpu,
                              "merged": outcome["merged"]}
            store.delete_collection(label)
    return figures


def serve(data_dir: Path):
    from sightline.config import IngestSettings
    from sightline.ingest.app import create_app

    settings = IngestSettings(ml_url="http://127.0.0.1:9", data_dir=data_dir, ingest_roots="", index_min_points=10**9)
    return common.serve_in_thread(create_app(settings))


class Searcher(threading.Thread):
    """"More like this" searches in `b`, one after another, until told to stop: their latencies."""

    def __init__(self, url: str, point_id: str):
        super().__init__(daemon=True)
        self.url, self.point_id = url, point_id
        self.latencies: list[float] = []
        self.before: list[float] = []  # those answered before `merging` was set
        self.failed = 0
        self.merging, self.stop = threading.Event(), threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=120) as client:
            while not self.stop.is_set():
                started = time.perf_counter()
                answer = client.post("/api/v1/search", json={"collection": "b", "point_id": self.point_id,
                                                             "limit": 20})
                if answer.status_code != 200:
                    self.failed += 1
                else:
                    (self.latencies if self.merging.is_set() else self.before).append(
                        (time.perf_counter() - started) * 1000)


def merge_once(client: httpx.Client, url: str, point_id: str) -> dict:
    searcher = Searcher(url, point_id)
    searcher.start()
    time.sleep(3)  # searches alone first: their latency without a merge
    searcher.merging.set()
    started, cpu = time.perf_counter(), common.process_cpu_seconds()
    answer = client.post("/api/v1/collections/a/merge", json={"into": "b"})
    request_s = time.perf_counter() - started
    if answer.status_code == 202:
        task = answer.json()["task"]
        while task["state"] == "running":
            time.sleep(0.1)
            task = client.get(f"/api/v1/review/tasks/{task['task_id']}").json()
        assert task["state"] == "completed", task
        outcome = task["result"]
    else:
        assert answer.status_code == 200, answer.text
        outcome = answer.json()
    wall_s, cpu_s = time.perf_counter() - started, common.process_cpu_seconds() - cpu
    searcher.stop.set()
    searcher.join()
    latencies, before = searcher.latencies or [float("nan")], searcher.before or [float("nan")]
    return {"status": answer.status_code, "request_s": request_s, "wall_s": wall_s, "cpu_s": cpu_s,
            "merged": outcome["merged"], "points_count": outcome["points_count"],
            "searches": len(searcher.latencies), "searches_failed": searcher.failed,
            "search_median_ms": common.median(latencies), "search_p95_ms": common.percentile(latencies, 95),
            "alone_median_ms": common.median(before), "alone_p95_ms": common.percentile(before, 95)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--no-compare", action="store_true", help="skip the side-by-side copy (step 1)")
    args = parser.parse_args()
    figures: dict = {"machine": common.machine_info(), "points": args.points}
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder)
        common.log(f"writing {args.points} points")
        write_collections(data_dir, args.points)
        if not args.no_compare:
            common.log("side by side: the committed merge and the current one")
            figures["compare"] = compare(data_dir)
        server, thread, url = serve(data_dir)
        try:
            vectors = server.config.app.state.services.vectors
            point_id = vectors.scroll("b", limit=1)[0][0].id
            with httpx.Client(base_url=url, timeout=3600) as client:
                common.log("merging a into b")
                figures["first"] = merge_once(client, url, point_id)
                common.log("merging a into b again")
                figures["again"] = merge_once(client, url, point_id)
        finally:
            server.should_exit = True
            thread.join(timeout=30)
    summary = [f"{label}: {run['merged']} copied in {run['wall_s']:.1f} s wall, {run['cpu_s']:.1f} CPU-s "
               f"({run['cpu_s'] * 1e6 / max(1, run['merged']):.0f} CPU-µs/point)"
               for label, run in figures.get("compare", {}).items()]
    for key in ("first", "again"):
        run = figures[key]
        summary.append(
            f"{key}: {run['merged']} merged (b now {run['points_count']}) in {run['wall_s']:.1f} s wall, "
            f"{run['cpu_s']:.1f} CPU-s ({run['cpu_s'] * 1e6 / max(1, run['merged']):.0f} CPU-µs/point); "
            f"answer {run['status']} after {run['request_s']:.2f} s; {run['searches']} searches meanwhile, "
            f"median {run['search_median_ms']:.1f} ms, p95 {run['search_p95_ms']:.1f} ms (alone: "
            f"{run['alone_median_ms']:.1f} / {run['alone_p95_ms']:.1f} ms)")
    common.emit("merge", figures, summary)


if __name__ == "__main__":
    main()
