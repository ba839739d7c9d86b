"""Browsing a big collection: a page of `POST /api/v1/search` without a query (newest first, cursor paging),
with and without filters, and the folder tree, at 100,000 points.

    python bench/browse.py [--points 100000] [--dimension 384] [--pages 20] [--page-size 100]

The points are written straight into the embedded store (random unit vectors, payloads as ingestion writes them:
dates over ten years, 8 cameras, 3 formats, 200 folders two levels deep), then the ingestion app answers over
HTTP in-process (`httpx.ASGITransport`: the whole request path, routing, validation and JSON, without sockets).
Timed: the first page (it also counts the matches), the next pages following `next_cursor` to `--pages`
deep, a page far down the list (after `--pages` × page size points), the first page with a camera filter, with a
folder filter, a jump to a month (the first page of a listing with `taken_before` at the month's end), and the
folder tree and the months: worked out (the first request) and kept (the next, until the collection changes), and
the months of one folder.
Prints ms per request (median and max) and one ``BENCH_JSON`` line.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402  bench/common.py: statistics and output

from sightline.config import IngestSettings  # noqa: E402
from sightline.ingest.app import create_app  # noqa: E402
from sightline.ingest.pipeline.payload import sort_seconds  # noqa: E402
from sightline.ingest.vectors import CollectionParams, Point, open_store  # noqa: E402

COLLECTION = "browse"
START = 1_420_070_400  # 2015-01-01
SPAN = 10 * 365 * 86400
FORMATS = ["jpeg", "heif", "png"]


def payload(index: int, rng: random.Random, root: str) -> dict[str, Any]:
    folder = f"{root}/{2015 + index % 10}/album{index % 200:03d}"
    taken = sort_seconds(START + rng.random() * SPAN)  # as ingestion stores it: paging compares it exactly
    has_date = rng.random() > 0.1
    make, model = common.CAMERAS[index % len(common.CAMERAS)]
    return {"path": f"{folder}/IMG_{index:06d}.jpg", "folder": folder,
            "folder_prefixes": [folder, f"{root}/{2015 + index % 10}", root, "/"],
            "filename": f"IMG_{index:06d}.jpg", "format": FORMATS[index % 3], "camera": f"{make} {model}",
            "sort_ts": taken, "date_source": "taken" if has_date else "file",
            "taken_at_ts": taken if has_date else None, "caption": "a photo", "bytes": 3_000_000}


def fill(data_dir: Path, points: int, dimension: int) -> None:
    """The collection with `points` random points, written straight into the store."""
    rng, vectors = random.Random(13), np.random.default_rng(13)
    store = open_store(data_dir, None, None)
    try:
        store.create_collection(COLLECTION, CollectionParams(vector_size=dimension, metadata={"backend": "lite"}))
        for start in range(0, points, 2000):
            count = min(2000, points - start)
            batch = vectors.standard_normal((count, dimension)).astype(np.float32)
            batch /= np.linalg.norm(batch, axis=1, keepdims=True)
            store.upsert(COLLECTION, [Point(str(uuid.UUID(int=rng.getrandbits(128))), batch[i].tolist(),
                                            payload(start + i, rng, "/photos")) for i in range(count)])
    finally:
        store.close()


async def timed(client: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> tuple[float, dict]:
    began = time.perf_counter()
    response = await client.request(method, url, **kwargs)
    elapsed = (time.perf_counter() - began) * 1000
    assert response.status_code == 200, response.text
    return elapsed, response.json()


async def measure(data_dir: Path, pages: int, size: int) -> dict[str, Any]:
    settings = IngestSettings(data_dir=data_dir, ml_url="http://ml.invalid", ingest_roots="")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            body = {"collection": COLLECTION, "limit": size}
            await timed(client, "POST", "/api/v1/search", json=body)  # warm-up: open the collection
            first_ms, answer = await timed(client, "POST", "/api/v1/search", json=body)
            following, cursor = [], answer["next_cursor"]
            for _ in range(pages):
                elapsed, answer = await timed(client, "POST", "/api/v1/search", json={**body, "cursor": cursor})
                following.append(elapsed)
                cursor = answer["next_cursor"]
            deep_ms, _ = await timed(client, "POST", "/api/v1/search", json={**body, "cursor": cursor})
            camera = {"camera": " ".join(common.CAMERAS[0])}
            camera_ms, camera_answer = await timed(client, "POST", "/api/v1/search",
                                                   json={**body, "filters": camera})
            folder_ms, _ = await timed(client, "POST", "/api/v1/search",
                                       json={**body, "filters": {"folder": "/photos/2019/album004"}})
            jump_ms, _ = await timed(client, "POST", "/api/v1/search",
                                     json={**body, "filters": {"taken_before": "2018-03-31T23:59:59.999Z"}})
            whole = await whole_collection(client)
    return {**whole, "jump_ms": jump_ms, "first_page_ms": first_ms, "next_page_ms_median": common.median(following),
            "next_page_ms_max": max(following), "deep_page_ms": deep_ms, "camera_filter_ms": camera_ms,
            "camera_filter_total": camera_answer["total"], "folder_filter_ms": folder_ms}


async def whole_collection(client: httpx.AsyncClient) -> dict[str, Any]:
    """The folder tree and the months, the first time (worked out) and the next (kept), median of 5."""
    figures: dict[str, Any] = {}
    for what in ("folders", "months"):
        url = f"/api/v1/collections/{COLLECTION}/{what}"
        figures[f"{what}_first_ms"], answer = await timed(client, "GET", url)
        figures[f"{what}_kept_ms"] = common.median([(await timed(client, "GET", url))[0] for _ in range(5)])
    figures["months"] = len(answer["months"])
    figures["months_folder_ms"], _ = await timed(client, "GET", f"/api/v1/collections/{COLLECTION}/months",
                                                 params={"folder": "/photos/2019"})
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--dimension", type=int, default=384)
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--page-size", type=int, default=100)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        began = time.perf_counter()
        common.log(f"writing {args.points} points ({args.dimension}-d) into the embedded store")
        fill(Path(folder), args.points, args.dimension)
        common.log(f"written in {time.perf_counter() - began:.0f} s; timing pages of {args.page_size}")
        figures = asyncio.run(measure(Path(folder), args.pages, args.page_size))
    figures.update(points=args.points, dimension=args.dimension, page_size=args.page_size, machine=common.machine_info())
    common.emit("browse", figures, [
        f"{args.points} points, pages of {args.page_size}, in-process HTTP:",
        f"  first page (with the total)   {figures['first_page_ms']:7.1f} ms",
        f"  next pages (cursor), median   {figures['next_page_ms_median']:7.1f} ms (max {figures['next_page_ms_max']:.1f})",
        f"  page {args.pages + 2} (deep)                {figures['deep_page_ms']:7.1f} ms",
        f"  camera filter, first page     {figures['camera_filter_ms']:7.1f} ms ({figures['camera_filter_total']} match)",
        f"  folder filter, first page     {figures['folder_filter_ms']:7.1f} ms",
        f"  jump to a month, first page   {figures['jump_ms']:7.1f} ms",
        f"  folder tree, worked out       {figures['folders_first_ms']:7.1f} ms, kept {figures['folders_kept_ms']:.1f} ms",
        f"  months ({figures['months']}), worked out     {figures['months_first_ms']:7.1f} ms, kept {figures['months_kept_ms']:.1f} ms",
        f"  months of a folder, worked out {figures['months_folder_ms']:6.1f} ms",
    ])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
