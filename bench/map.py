"""The map of a collection at scale: compute time through the API, and the map page's frame time in Chromium.

    python bench/map.py [--points 50000] [--compare 2000] [--no-browser]

1. Writes ``--points`` 384-d vectors (40 clusters of varying spread, captions naming each cluster) into a
   real embedded store, starts the ingestion service with its UI in this process (uvicorn on 127.0.0.1),
   asks for the map (202 + a task) and waits: the task's seconds are the compute time (reading the vectors,
   the layout, HDBSCAN, labels), the first layout in the process paying UMAP's numba JIT compile.
   A second map of the same collection after one more point is written shows the time without the compile.
2. In Chromium (Debian's, through Playwright) opens the map page, then zooms in 12 wheel steps and pans 12
   drags: per-frame draw time (median, p95, max) from the page's own ``window.sightlineMap.frames``.
3. ``--compare N``: t-SNE and UMAP (compile excluded) on N points in this process, the measure behind
   UMAP_MIN_POINTS (ingest/review/layout/project.py). CPU seconds are given beside wall seconds: on a shared
   machine they move far less with the load.

Prints one BENCH_JSON line and a summary.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import numpy as np

import common

sys.path.insert(0, str(common.REPO_ROOT))

CLUSTERS = 40
WORDS = ("beach dog city forest snow mountain car cat flower food street night sky river boat bird house tree "
         "bridge market").split()


def write_collection(data_dir: Path, points: int) -> None:
    from sightline.ingest.vectors import CollectionParams, Point, open_store

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(CLUSTERS, 384))
    with open_store(data_dir) as store:
        store.create_collection("big", CollectionParams(vector_size=384))
        for start in range(0, points, 2000):
            n = min(2000, points - start)
            which = rng.integers(0, CLUSTERS, n)
            vectors = centres[which] + rng.normal(size=(n, 384)) * (0.3 + (which % 5)[:, None] * 0.15)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            store.upsert("big", [Point(str(uuid.uuid4()), v.tolist(), {
                "path": f"/photos/{start + i}.jpg",
                "caption": f"a photo of a {WORDS[c % len(WORDS)]} and a {WORDS[(c * 7 + 3) % len(WORDS)]}"})
                for i, (v, c) in enumerate(zip(vectors, which))])


def serve(data_dir: Path):
    from sightline.config import IngestSettings
    from sightline.server import create_app

    settings = IngestSettings(ml_url="http://127.0.0.1:9", data_dir=data_dir, ingest_roots="")
    return common.serve_in_thread(create_app(settings))


def compute(client: httpx.Client) -> dict:
    started, cpu = time.perf_counter(), common.process_cpu_seconds()
    answer = client.get("/api/v1/collections/big/map")
    assert answer.status_code == 202, answer.text
    task_id = answer.json()["task"]["task_id"]
    while (task := client.get(f"/api/v1/review/tasks/{task_id}").json())["state"] == "running":
        time.sleep(0.2)
    assert task["state"] == "completed", task
    ready = client.get("/api/v1/collections/big/map")
    body = ready.json()
    return {"wall_s": time.perf_counter() - started, "cpu_s": common.process_cpu_seconds() - cpu, "task_s": task["finished_at"] - task["started_at"],
            "layout_s": body["seconds"], "method": body["method"], "clusters": len(body["clusters"]),
            "unclustered": sum(1 for p in body["points"] if p["cluster"] < 0), "answer_bytes": len(ready.content)}


def frames(url: str) -> dict:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                             args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        started = time.perf_counter()
        page.goto(f"{url}/collections/big/map")
        page.wait_for_selector("#map-canvas[data-state=ready]", timeout=120_000)
        page.wait_for_function("window.sightlineMap.frames.length > 0")
        shown_s = time.perf_counter() - started
        box = page.locator("#map-canvas").bounding_box()
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.mouse.move(cx, cy)
        for _ in range(12):
            page.mouse.wheel(0, -120)
            page.wait_for_timeout(50)
        for step in range(12):
            page.mouse.down()
            page.mouse.move(cx + 40 * (1 if step % 2 else -1), cy + 25, steps=4)
            page.mouse.up()
            page.mouse.move(cx, cy)
        page.wait_for_timeout(300)
        times = page.evaluate("window.sightlineMap.frames")
        browser.close()
    return {"page_ready_s": shown_s, "frames": len(times), "first_ms": times[0],
            "median_ms": common.median(times), "p95_ms": common.percentile(times, 95), "max_ms": max(times)}


def compare(n: int) -> dict:
    from sightline.ingest.review.layout import project

    rng = np.random.default_rng(1)
    matrix = (rng.normal(size=(8, 384))[rng.integers(0, 8, n)] + rng.normal(size=(n, 384)) * 0.5).astype(np.float32)
    project._umap(matrix[:300])  # the JIT compile, not counted
    result = {}
    for method, run in (("tsne", project._tsne), ("umap", project._umap)):
        started, cpu = time.perf_counter(), common.process_cpu_seconds()
        run(matrix)
        result[f"{method}_s"] = time.perf_counter() - started
        result[f"{method}_cpu_s"] = common.process_cpu_seconds() - cpu
    return {"points": n, **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=50_000)
    parser.add_argument("--compare", type=int, default=0)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    figures: dict = {"machine": common.machine_info(), "points": args.points}
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder)
        common.log(f"writing {args.points} points")
        write_collection(data_dir, args.points)
        server, thread, url = serve(data_dir)
        try:
            with httpx.Client(base_url=url, timeout=120) as client:
                common.log("computing the map (first: with the JIT compile)")
                figures["first"] = compute(client)
                from sightline.ingest.vectors import Point
                server.config.app.state.services.vectors.upsert(
                    "big", [Point(str(uuid.uuid4()), [1.0] + [0.0] * 383, {"path": "/photos/extra.jpg"})])
                common.log("computing the map again (compiled)")
                figures["again"] = compute(client)
            if not args.no_browser:
                common.log("measuring frames in Chromium")
                figures["page"] = frames(url)
        finally:
            server.should_exit = True
            thread.join(timeout=30)
    if args.compare:
        figures["compare"] = compare(args.compare)
    first, again = figures["first"], figures["again"]
    summary = [f"{args.points} points: map computed in {first['task_s']:.1f} s ({first['cpu_s']:.0f} CPU-s) the "
               f"first time (JIT compile included), {again['task_s']:.1f} s ({again['cpu_s']:.0f} CPU-s) again; method "
               f"{figures['first']['method']}, {figures['first']['clusters']} clusters, answer "
               f"{figures['first']['answer_bytes'] / 1e6:.1f} MB"]
    if "page" in figures:
        page = figures["page"]
        summary.append(f"page: ready in {page['page_ready_s']:.1f} s; {page['frames']} frames, median "
                       f"{page['median_ms']:.1f} ms, p95 {page['p95_ms']:.1f} ms, max {page['max_ms']:.1f} ms")
    if "compare" in figures:
        summary.append(f"compare: {figures['compare']}")
    common.emit("map", figures, summary)


if __name__ == "__main__":
    main()
