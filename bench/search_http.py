"""Vector search over HTTP on a big built collection: "more like this" requests to the ingestion service on a
real socket, their latency and recall@10 against numpy's exact search of the same data, beside the store's
own search in process (issue 12, goal 3).

    python bench/index.py --points 1000000 --dim 384 --keep DIR     # once: fill and build (~15 min at 1M)
    python bench/search_http.py DIR --points 1000000 --dim 384 [--queries 100] [--rounds 2] [--compare stores]

``DIR`` is a store kept by ``bench/index.py --keep``; ``--points``, ``--dim`` and ``--clusters`` must be the
ones it was built with: the data is drawn again from the same seed for the ground truth. The service runs in
this process (uvicorn on a loopback port, its own thread); the client is httpx on the main thread, so the
figures include both ends of a real HTTP request, sharing one interpreter. Each query is a stored point
(`POST /api/v1/search {"point_id", "limit": 10}`); its exact neighbours exclude itself, as the API does.
Two variants side by side on the same queries, alternating rounds, a service started for each round:

- ``--compare stores`` (default): the embedded store in a process of its own (``process``, the service's
  default) and in the service's process (``inline``). CPU per request counts the service's process, the
  client (the same process) and the store's process.
- ``--compare settings``: the search parameters of today (`SEARCH_HNSW_EF`, `SEARCH_OVERSAMPLING` in
  `ingest/vectors/base.py`) and those before them (the engine's default `hnsw_ef`, oversampling 2), the store
  inline (the parameters are set in this process).

Prints a table and one ``BENCH_JSON`` line.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from pathlib import Path

import httpx
import numpy as np

import common
import index
from sightline.config import IngestSettings
from sightline.ingest import app as ingest_app
from sightline.ingest.vectors import _edge_queries, base

COLLECTION = "bench"
K = 10
SETTINGS = {"before": (None, 2.0), "now": (base.SEARCH_HNSW_EF, base.SEARCH_OVERSAMPLING)}  # hnsw_ef, oversampling


def use(variant: str) -> bool:
    """Set the variant's search parameters; whether its store runs in a process of its own."""
    _edge_queries.SEARCH_HNSW_EF, _edge_queries.SEARCH_OVERSAMPLING = SETTINGS.get(variant, SETTINGS["now"])
    return variant == "process"


def queries_and_truth(args: argparse.Namespace) -> tuple[list[int], np.ndarray]:
    """Point indices to query, and each one's exact 10 nearest other points (numpy, as bench/index.py drew
    the data)."""
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((args.clusters, args.dim)).astype(np.float32)
    data = index.clustered(rng, args.points, args.dim, args.clusters, centers)
    picked = np.random.default_rng(1).choice(args.points, args.queries, replace=False)
    scores = data[picked] @ data.T
    scores[np.arange(len(picked)), picked] = -np.inf  # the query point itself
    return picked.tolist(), np.argpartition(-scores, K, axis=1)[:, :K]


def point_id(index_: int) -> str:
    return str(uuid.UUID(int=index_ + 1))  # bench/index.py's ids


def timed_round(client: httpx.Client, picked: list[int]) -> tuple[list[float], list[list[int]]]:
    times, found = [], []
    for i in picked:
        began = time.perf_counter()
        response = client.post("/api/v1/search", json={"collection": COLLECTION, "point_id": point_id(i), "limit": K})
        times.append(1000 * (time.perf_counter() - began))
        assert response.status_code == 200, response.text
        found.append([uuid.UUID(hit["id"]).int - 1 for hit in response.json()["results"]])
    return times, found


def in_process(store: object, picked: list[int]) -> list[float]:
    """The store's own search of the same vectors, no HTTP: what the service adds is the difference."""
    vectors = {p.id: p.vector for p in store.retrieve(COLLECTION, [point_id(i) for i in picked], True)}
    times = []
    for i in picked:
        began = time.perf_counter()
        store.search(COLLECTION, vectors[point_id(i)], limit=K + 2)
        times.append(1000 * (time.perf_counter() - began))
    return times


async def no_upgrade(services: object) -> dict[str, int]:
    return {}


def measure(args: argparse.Namespace) -> dict:
    common.log(f"drawing {args.points} x {args.dim} again for the exact neighbours of {args.queries} points")
    picked, truth = queries_and_truth(args)
    ingest_app.upgrade_all = no_upgrade  # the bench's points carry no `words`: the start would rewrite them all
    variants = ["process", "inline"] if args.compare == "stores" else list(SETTINGS)
    figures: dict = {"points": args.points, "dim": args.dim, "queries": args.queries, "compare": args.compare}
    for round_ in range(1, args.rounds + 1):
        for variant in variants:
            figures.update(one_round(args, variant, round_, picked, truth))
    return figures


def one_round(args: argparse.Namespace, variant: str, round_: int, picked: list[int], truth: np.ndarray) -> dict:
    """A service started for ``variant``: its first request (opens the collection), a timed pass of the
    queries, and the store's own search of them (no HTTP)."""
    settings = IngestSettings(data_dir=args.data_dir, ml_url="http://ml.invalid", ingest_roots="",
                              store_process=use(variant))
    app = ingest_app.create_app(settings)
    server, thread, url = common.serve_in_thread(app)
    name, figures = f"{variant}_pass{round_}", {}
    try:
        store = app.state.services.vectors
        with httpx.Client(base_url=url, timeout=60) as client:
            began, cpu = time.perf_counter(), common.cpu_with_store_seconds(store)
            first = client.post("/api/v1/search", json={"collection": COLLECTION, "point_id": point_id(0), "limit": K})
            assert first.status_code == 200, first.text
            figures[f"first_request_ms_{name}"] = round(1000 * (time.perf_counter() - began), 1)
            figures[f"first_request_cpu_ms_{name}"] = round(1000 * (common.cpu_with_store_seconds(store) - cpu), 1)
            cpu = common.cpu_with_store_seconds(store)
            times, found = timed_round(client, picked)
            spent = common.cpu_with_store_seconds(store) - cpu
            figures[f"cpu_ms_per_request_{name}"] = round(1000 * spent / len(picked), 2)
        figures[f"http_p50_ms_{name}"] = round(statistics.median(times), 2)
        figures[f"http_p95_ms_{name}"] = round(float(np.percentile(times, 95)), 2)
        figures[f"recall10_{variant}"] = round(index.recall(found, truth), 4)
        figures[f"store_call_p50_ms_{name}"] = round(statistics.median(in_process(store, picked)), 2)
        common.log(f"{name}: {figures}")
    finally:
        server.should_exit = True
        thread.join()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--clusters", type=int, default=200)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--compare", choices=["stores", "settings"], default="stores")
    args = parser.parse_args()
    figures = measure(args)
    figures["machine"] = common.machine_info()
    common.emit("search_http", figures, [f"{key:<34} {value}" for key, value in figures.items() if key != "machine"])


if __name__ == "__main__":
    main()
