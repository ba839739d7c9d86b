"""End-to-end ingestion benchmark: this pipeline against its model-only limit and two other clients,
side by side in one run, plus search latency on a 20,000-point embedded collection.

    python bench/ingest.py                    # 64 images, tiny models (~3-5 minutes on 2 cores)
    python bench/ingest.py --quick            # smoke run (~1 minute)
    python bench/ingest.py --models lite      # the real default backend
    python bench/ingest.py --models clip-arch --images 16 --original-images 8   # the real CLIP+BLIP compute

``--models clip-arch``: CLIP ViT-B/32 + BLIP-base architecture, random weights — timing only, equivalent compute
to the real models (bench/common.py). ~1.5 s of model per image on 2 cores (~2 s one at a time): keep
``--images`` small (16 images, 8 for (4): ~5.5 min).

One ML service (subprocess, ``--models``) serves every path; each path writes to its own fresh collection:
(1) pipeline     — this ingestion service (subprocess): POST /api/v1/ingest/scan on the folder, poll the job
                   until it is completed; images/s from the POST to the completed state.
(2) model-only   — the ML service fed pre-decoded input: the same images already reduced to 256 px JPEGs,
                   in batches of the pipeline's size through /api/v1/embed_images with 2 in flight (decode
                   cost ~0, no store): the most the pipeline could reach with this ML service.
(3) per-request  — Immich's pattern: read each file, POST one image per request to /api/v1/embed_images,
                   upsert one point per image; 2 requests in flight (Immich's default smart-search
                   concurrency; ``--per-request-concurrency``).
(4) original     — the original design: read the file, decode it at full size, re-encode as a full-resolution
                   PNG, base64 JSON in batches (one in flight) to the original endpoint (sequential full-size
                   decode on the server, bench/common.py), upsert one point at a time. Its PNG encoding costs
                   seconds per 12 MP image, so it runs on the first ``--original-images`` images only;
                   images/s is a rate, comparable with the others.
(1)-(3) run ``--repeat`` times in rotating order (medians); (4) once.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import io
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402  (a sibling module, not a package)
from common import fmt_ratio, log, median, percentile, ratio  # noqa: E402

from sightline.imaging import read_metadata  # noqa: E402
from tests.samples import distinct_image  # noqa: E402
from sightline.ingest.vectors import CollectionParams, Point, SearchFilters, open_store  # noqa: E402

TARGET_OF_LIMIT = 0.80
TARGET_OVER_PER_REQUEST = 2.0
PIPELINE_BATCH = 32  # the pipeline's own batch size (pipeline.MAX_BATCH, capped by capabilities)
IN_FLIGHT = 2  # the pipeline's default batches_in_flight
TERMINAL = {"completed", "completed_with_errors", "failed", "cancelled"}
SEARCH_TEXTS = [
    "a dog on the beach", "sunset over mountains", "a red car", "birthday cake with candles", "a cat sleeping",
    "snow covered trees", "city skyline at night", "a bowl of fruit", "children playing football", "a sailing boat",
]


def payload_for(path: Path, data: bytes, extra: dict[str, Any]) -> dict[str, Any]:
    """A payload like the pipeline's: file facts, EXIF metadata, model provenance."""
    meta = read_metadata(data).to_payload()
    camera = " ".join(p for p in (meta.get("camera_make"), meta.get("camera_model")) if p) or None
    folder = path.parent
    return {**meta, "path": str(path), "folder": str(folder),
            "folder_prefixes": [str(folder), *(str(p) for p in folder.parents)], "filename": path.name,
            "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(), "camera": camera, **extra}


def fresh_store(run_dir: Path, name: str, dimension: int, capabilities: dict[str, Any]):
    store = open_store(run_dir / f"store-{name}")
    store.create_collection(name, CollectionParams(vector_size=dimension, metadata={
        "backend": capabilities["backend"], "embedding_model": capabilities["embedding_model"],
        "dimension": dimension}))
    return store


# --------------------------------------------------------------------------------------------------
# (1) this pipeline


def run_pipeline(ingest: common.Service, folder: Path, count: int, name: str) -> dict[str, Any]:
    with httpx.Client(base_url=ingest.url, timeout=120) as client:
        response = client.post("/api/v1/collections", json={"name": name})
        if response.status_code != 201:
            raise RuntimeError(f"create collection: HTTP {response.status_code}: {response.text[:300]}")
        started = time.perf_counter()
        response = client.post("/api/v1/ingest/scan", json={"collection": name, "directory_path": str(folder)})
        if response.status_code != 202:
            raise RuntimeError(f"scan: HTTP {response.status_code}: {response.text[:300]}")
        job_id = response.json()["job_id"]
        polls = 0
        while True:
            job = client.get(f"/api/v1/jobs/{job_id}").json()
            polls += 1
            if job["state"] in TERMINAL:
                break
            time.sleep(0.1)  # each poll costs the service ~2 ms of CPU; 0.1 s keeps that under 1 % (quiet)
        elapsed = time.perf_counter() - started
        points = client.get(f"/api/v1/collections/{name}").json()["points_count"]
    if job["state"] != "completed" or job["counts"]["done"] != count or points != count:
        raise RuntimeError(f"pipeline job ended {job['state']} with counts {job['counts']}, {points} points")
    return {"seconds": elapsed, "images_per_second": count / elapsed,
            "job_images_per_second": job.get("images_per_second"), "points": points, "polls": polls,
            "job_id": job_id}


# --------------------------------------------------------------------------------------------------
# (2) model-only limit


async def _model_only(url: str, reduced: list[bytes], batch: int) -> None:
    slots = asyncio.Semaphore(IN_FLIGHT)
    async with httpx.AsyncClient(base_url=url, headers=common.auth_headers(), timeout=600) as client:
        async def send(start: int) -> None:
            async with slots:
                chunk = reduced[start:start + batch]
                response = await client.post(
                    "/api/v1/embed_images",
                    files=[("images", (f"r{start + i}.jpg", data, "image/jpeg")) for i, data in enumerate(chunk)],
                    data={"caption": "true"})
                response.raise_for_status()
                results = response.json()["results"]
                if len(results) != len(chunk) or any(r["error"] for r in results):
                    raise RuntimeError(f"model-only batch failed: {results[:1]}")
        await asyncio.gather(*(send(start) for start in range(0, len(reduced), batch)))


def run_model_only(ml: common.Service, reduced: list[bytes], batch: int) -> dict[str, Any]:
    started = time.perf_counter()
    asyncio.run(_model_only(ml.url, reduced, batch))
    elapsed = time.perf_counter() - started
    return {"seconds": elapsed, "images_per_second": len(reduced) / elapsed}


def run_ml_direct(ml: common.Service, paths: list[Path], batch: int) -> dict[str, Any]:
    """The original files, read and sent straight to the ML service in the pipeline's batches with 2 in
    flight: no ingestion service (no hashing, metadata, job store or vector store). The gap between this
    and (1) is the orchestration's cost; between this and (2), the decoding's."""
    started = time.perf_counter()
    datas = [p.read_bytes() for p in paths]
    asyncio.run(_model_only(ml.url, datas, batch))
    elapsed = time.perf_counter() - started
    return {"seconds": elapsed, "images_per_second": len(paths) / elapsed}


def run_decode_only(paths: list[Path], workers: int) -> dict[str, Any]:
    """Read + `decode_image(min_side=256)` of every file in a pool of `workers` threads, in this process
    (the services idle meanwhile): the ceiling for any path that decodes these 12 MP JPEGs here."""
    def one(path: Path) -> Any:
        return common.decode_reduced(path.read_bytes())

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(one, paths))
    elapsed = time.perf_counter() - started
    return {"seconds": elapsed, "images_per_second": len(paths) / elapsed, "workers": workers}


# --------------------------------------------------------------------------------------------------
# (3) one image per request


def _read_and_describe(path: Path) -> tuple[bytes, dict[str, Any]]:
    data = path.read_bytes()
    return data, payload_for(path, data, {})


async def _per_request(url: str, paths: list[Path], store, name: str, concurrency: int) -> None:
    queue: asyncio.Queue[Path] = asyncio.Queue()
    for path in paths:
        queue.put_nowait(path)
    async with httpx.AsyncClient(base_url=url, headers=common.auth_headers(), timeout=600) as client:
        async def worker() -> None:
            while not queue.empty():
                path = queue.get_nowait()
                data, payload = await asyncio.to_thread(_read_and_describe, path)
                response = await client.post("/api/v1/embed_images", files=[("images", (path.name, data, "image/jpeg"))],
                                             data={"caption": "true"})
                response.raise_for_status()
                result = response.json()["results"][0]
                if result["error"]:
                    raise RuntimeError(f"per-request {path.name}: {result['error']}")
                point = Point(str(uuid.uuid5(uuid.NAMESPACE_URL, str(path))), result["embedding"],
                              {**payload, "caption": result["caption"], "embedding_model": result["model_name_clip"]})
                await asyncio.to_thread(store.upsert, name, [point])
        await asyncio.gather(*(worker() for _ in range(concurrency)))


def run_per_request(ml: common.Service, paths: list[Path], run_dir: Path, name: str, capabilities: dict[str, Any],
                    concurrency: int) -> dict[str, Any]:
    store = fresh_store(run_dir, name, capabilities["dimension"], capabilities)
    try:
        started = time.perf_counter()
        asyncio.run(_per_request(ml.url, paths, store, name, concurrency))
        elapsed = time.perf_counter() - started
        points = store.count(name)
    finally:
        store.close()
    if points != len(paths):
        raise RuntimeError(f"per-request stored {points} points for {len(paths)} images")
    return {"seconds": elapsed, "images_per_second": len(paths) / elapsed, "concurrency": concurrency}


# --------------------------------------------------------------------------------------------------
# (4) the original design


def _original_prepare(path: Path) -> dict[str, Any]:
    """The original's CPU worker for one file: hash, full-size decode, full-resolution PNG + base64,
    a 200 px thumbnail (kept in its payload), metadata."""
    from PIL import Image

    data = path.read_bytes()
    payload = payload_for(path, data, {})
    image = Image.open(io.BytesIO(data)).convert("RGB")
    png = io.BytesIO()
    image.save(png, format="PNG")
    thumb = image.copy()
    thumb.thumbnail((200, 200))
    thumb_buf = io.BytesIO()
    thumb.save(thumb_buf, format="JPEG", quality=85)
    payload["thumbnail_base64"] = base64.b64encode(thumb_buf.getvalue()).decode("ascii")
    return {"unique_id": payload["sha256"], "filename": path.name, "path": path, "payload": payload,
            "image_base64": base64.b64encode(png.getvalue()).decode("ascii"), "png_bytes": png.tell()}


def run_original(ml: common.Service, paths: list[Path], run_dir: Path, name: str, capabilities: dict[str, Any],
                 batch: int, workers: int) -> dict[str, Any]:
    store = fresh_store(run_dir, name, capabilities["dimension"], capabilities)
    png_bytes: list[int] = []
    server_preprocess = 0.0
    try:
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=workers) as pool, \
                httpx.Client(base_url=ml.url, headers=common.auth_headers(), timeout=1800) as client:
            pending: list[Future] = []
            next_index = 0

            def top_up() -> None:  # keep at most two batches prepared ahead (memory: ~25 MB per image)
                nonlocal next_index
                while next_index < len(paths) and len(pending) < 2 * batch:
                    pending.append(pool.submit(_original_prepare, paths[next_index]))
                    next_index += 1

            top_up()
            while pending:
                items = [future.result() for future in pending[:batch]]
                del pending[:batch]
                top_up()
                body = json.dumps({"images": [{"unique_id": i["unique_id"], "image_base64": i["image_base64"],
                                               "filename": i["filename"]} for i in items]})
                response = client.post(common.ORIGINAL_PATH, content=body, headers={"content-type": "application/json"})
                response.raise_for_status()
                answer = response.json()
                server_preprocess += answer["timings"]["preprocess_seconds"]
                for item, result in zip(items, answer["results"]):
                    if result["error"]:
                        raise RuntimeError(f"original {item['filename']}: {result['error']}")
                    png_bytes.append(item["png_bytes"])
                    point = Point(str(uuid.uuid4()), result["embedding"],  # the original's random ids
                                  {**item["payload"], "caption": result["caption"]})
                    store.upsert(name, [point])  # one point at a time
        elapsed = time.perf_counter() - started
        points = store.count(name)
    finally:
        store.close()
    if points != len(paths):
        raise RuntimeError(f"original stored {points} points for {len(paths)} images")
    return {"seconds": elapsed, "images_per_second": len(paths) / elapsed, "images": len(paths), "batch": batch,
            "png_mb_per_image": float(np.mean(png_bytes)) / 1e6, "server_decode_seconds": server_preprocess}


# --------------------------------------------------------------------------------------------------
# Search latency


def clustered_points(count: int, dimension: int, seed: int = 7) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Unit vectors around 64 cluster centres (HNSW and exact search behave on clustered data as on real
    embeddings, not as on uniform noise), with payloads like the pipeline's."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(64, dimension)).astype(np.float32)
    labels = rng.integers(0, len(centres), count)
    vectors = centres[labels] + rng.normal(scale=0.6, size=(count, dimension)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    weights = np.array([30, 20, 15, 12, 9, 6, 5, 3], dtype=float)
    cameras = rng.choice(len(common.CAMERAS), size=count, p=weights / weights.sum())
    base_ts = 1_500_000_000
    payloads = []
    for i in range(count):
        make, model = common.CAMERAS[int(cameras[i])]
        ts = base_ts + int(rng.integers(0, 8 * 365 * 86400))
        year = time.gmtime(ts).tm_year
        folder = f"/photos/{year}/{time.gmtime(ts).tm_mon:02d}"
        payloads.append({
            "path": f"{folder}/IMG_{i:05d}.jpg", "folder": folder,
            "folder_prefixes": [folder, f"/photos/{year}", "/photos", "/"], "filename": f"IMG_{i:05d}.jpg",
            "format": "jpeg", "width": 4000, "height": 3000, "bytes": int(rng.integers(2_000_000, 5_000_000)),
            "sha256": rng.bytes(32).hex(), "camera_make": make, "camera_model": model, "camera": f"{make} {model}",
            "taken_at_ts": float(ts), "taken_at": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)),
            "caption": f"a photo of cluster {int(labels[i])}", "embedding_model": "bench", "caption_kind": "none",
        })
    return vectors, payloads


def build_search_collection(root: Path, name: str, count: int, dimension: int) -> tuple[dict[str, Any], np.ndarray]:
    vectors, payloads = clustered_points(count, dimension)
    store = open_store(root)
    try:
        store.create_collection(name, CollectionParams(vector_size=dimension, metadata={}))
        started = time.perf_counter()
        for start in range(0, count, 1000):
            store.upsert(name, [Point(str(uuid.uuid5(uuid.NAMESPACE_OID, f"{name}-{i}")), vectors[i].tolist(),
                                      payloads[i]) for i in range(start, min(count, start + 1000))])
        upsert_seconds = time.perf_counter() - started
    finally:
        store.close()
    return {"points": count, "dimension": dimension, "upsert_points_per_second": count / upsert_seconds}, vectors


def search_latency(root: Path, name: str, vectors: np.ndarray, queries: int) -> dict[str, Any]:
    """Exact search through the store interface, as the ingestion service calls it (limit 20, payloads)."""
    rng = np.random.default_rng(11)
    picks = rng.integers(0, len(vectors), queries)
    query_vectors = vectors[picks] + rng.normal(scale=0.3, size=(queries, vectors.shape[1])).astype(np.float32)
    query_vectors /= np.linalg.norm(query_vectors, axis=1, keepdims=True)
    camera = " ".join(common.CAMERAS[2])  # ~15 % of the points
    store = open_store(root)
    try:
        opened = time.perf_counter()
        store.search(name, query_vectors[0].tolist(), limit=20)  # first query opens the shard
        open_seconds = time.perf_counter() - opened
        figures: dict[str, Any] = {"open_and_first_query_ms": 1000 * open_seconds, "camera_filter": camera,
                                   "camera_share": store.count(name, SearchFilters(camera=camera)) / len(vectors)}
        for label, filters in (("no_filter", None), ("camera_filter", SearchFilters(camera=camera))):
            times = []
            for vector in query_vectors:
                as_list = vector.tolist()
                started = time.perf_counter()
                hits = store.search(name, as_list, limit=20, filters=filters)
                times.append(time.perf_counter() - started)
                if not hits or (filters and any(h.payload.get("camera") != camera for h in hits)):
                    raise RuntimeError(f"search {label} gave wrong hits")
            figures[label] = {"p50_ms": 1000 * percentile(times, 50), "p95_ms": 1000 * percentile(times, 95),
                              "queries": len(times)}
    finally:
        store.close()
    return figures


def http_search_latency(ingest: common.Service, name: str, queries: int) -> dict[str, Any]:
    """POST /api/v1/search by text: the ML service embeds the text, the store searches, payloads come back."""
    camera = " ".join(common.CAMERAS[2])
    figures: dict[str, Any] = {}
    with httpx.Client(base_url=ingest.url, timeout=60) as client:
        client.post("/api/v1/search", json={"collection": name, "text": "warm up"}).raise_for_status()
        for label, filters in (("no_filter", None), ("camera_filter", {"camera": camera})):
            times = []
            for i in range(queries):
                body = {"collection": name, "text": f"{SEARCH_TEXTS[i % len(SEARCH_TEXTS)]} {i}", "limit": 20}
                if filters:
                    body["filters"] = filters
                started = time.perf_counter()
                response = client.post("/api/v1/search", json=body)
                times.append(time.perf_counter() - started)
                response.raise_for_status()
            figures[label] = {"p50_ms": 1000 * percentile(times, 50), "p95_ms": 1000 * percentile(times, 95),
                              "queries": len(times)}
    return figures


def cpu_snapshot(ml: common.Service, ingest: common.Service) -> dict[str, float]:
    return {"ml_service": ml.cpu_seconds(), "ingest_service": ingest.cpu_seconds(),
            "bench_client": common.process_cpu_seconds()}


def cpu_per_image(before: dict[str, float], after: dict[str, float], count: int) -> dict[str, float]:
    return {part: 1000 * (after[part] - before[part]) / count for part in before}


def embed_text_latency(ml: common.Service, queries: int) -> dict[str, Any]:
    """POST /api/v1/embed_text on the ML service alone: the part of a text search that is the model's."""
    times = []
    with httpx.Client(base_url=ml.url, headers=common.auth_headers(), timeout=60) as client:
        for i in range(queries):
            started = time.perf_counter()
            client.post("/api/v1/embed_text", json={"texts": [f"{SEARCH_TEXTS[i % len(SEARCH_TEXTS)]} {i}"]}
                        ).raise_for_status()
            times.append(time.perf_counter() - started)
    return {"p50_ms": 1000 * percentile(times, 50), "p95_ms": 1000 * percentile(times, 95), "queries": queries}


# --------------------------------------------------------------------------------------------------


def summary_lines(fig: dict[str, Any]) -> list[str]:
    paths = fig["paths"]
    base = paths["pipeline"]["images_per_second"]
    if fig.get("timing_equivalent"):
        models_text = f"ML models '{fig['models']}' [{fig['label']}; {fig['dimension']}-d]"
    else:
        models_text = f"ML models '{fig['models']}' ({fig['embedding_model']}, {fig['dimension']}-d)"
    lines = [
        f"ingest: {fig['images']} camera-like 4000x3000 JPEGs ({fig['folder_mb']:.0f} MB), "
        f"{models_text}, {fig['machine']['cpus']} CPUs, "
        f"load average {fig['machine']['loadavg_1m_at_start']:.1f} at start / {fig['machine']['loadavg_1m_at_end']:.1f} "
        f"at end; (1)-(3) median of {fig['repeat']} run(s), rotating order",
    ]
    labels = {
        "pipeline": "(1) this pipeline (scan job)",
        "model_only": "(2) model-only limit (pre-reduced)",
        "per_request": "(3) one image per request",
        "original": "(4) original design",
        "ml_direct": "    ML service direct, original files",
        "decode_only": "    decode-only ceiling (no model)",
    }
    for key, label in labels.items():
        item = paths.get(key)
        if item is None:
            continue
        rel = "" if key == "pipeline" else f"   (1)/this = {fmt_ratio(ratio(base, item['images_per_second']))}"
        extra = ""
        if key == "original":
            extra = f"  [{item['images']} images, {item['png_mb_per_image']:.0f} MB PNG each]"
        cpu = item.get("cpu_ms_per_image", {})
        cpu_text = (f"  CPU ms/image: ML {cpu.get('ml_service', 0):.0f}, ingest {cpu.get('ingest_service', 0):.0f}, "
                    f"client {cpu.get('bench_client', 0):.0f}") if cpu else ""
        lines.append(f"  {label:<38} {item['images_per_second']:7.2f} images/s{rel}{cpu_text}{extra}")
    t = fig["targets"]
    lines.append(f"  target (1) >= {100 * TARGET_OF_LIMIT:.0f} % of (2): {'MET' if t['of_model_only']['met'] else 'MISSED'}"
                 f" ({100 * (t['of_model_only']['value'] or 0):.0f} %)")
    lines.append(f"  target (1) >= {TARGET_OVER_PER_REQUEST:.0f}x (3): {'MET' if t['over_per_request']['met'] else 'MISSED'}"
                 f" ({fmt_ratio(t['over_per_request']['value'])})")
    for entry in fig["search"]:
        head = f"  search {entry['points']} points {entry['dimension']}-d (embedded edge shard, exact, limit 20)"
        lines.append(f"{head}: p50/p95 {entry['no_filter']['p50_ms']:.1f}/{entry['no_filter']['p95_ms']:.1f} ms, "
                     f"with camera filter ({100 * entry['camera_share']:.0f} % of points) "
                     f"{entry['camera_filter']['p50_ms']:.1f}/{entry['camera_filter']['p95_ms']:.1f} ms; "
                     f"upsert {entry['upsert_points_per_second']:.0f} points/s")
    lines.append("  (the last two locate the time: ML direct = (1) without the ingestion service; decode-only = "
                 "decode_image over the folder in a thread pool, nothing else)")
    if "decode_only" in paths and "ml_direct" in paths:
        lines.append(f"  (1) reaches {100 * (ratio(base, paths['decode_only']['images_per_second']) or 0):.0f} % of the "
                     f"decode-only ceiling and {100 * (ratio(base, paths['ml_direct']['images_per_second']) or 0):.0f} % "
                     "of the ML service fed directly")
    http = fig.get("http_search")
    if http:
        lines.append(f"  search over HTTP by text ({fig['dimension']}-d collection, ML embed_text included): p50/p95 "
                     f"{http['no_filter']['p50_ms']:.1f}/{http['no_filter']['p95_ms']:.1f} ms, with camera filter "
                     f"{http['camera_filter']['p50_ms']:.1f}/{http['camera_filter']['p95_ms']:.1f} ms "
                     f"(of which ML embed_text alone: p50 {http['ml_embed_text']['p50_ms']:.1f} ms)")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=64, help="images in the folder (default 64)")
    parser.add_argument("--models", default="tiny", choices=["tiny", "lite", "clip", common.CLIP_ARCH],
                        help="ML backend (default tiny); clip-arch: CLIP ViT-B/32 + BLIP-base architecture, random "
                             "weights, timing only (~1.5-2 s per image on 2 cores)")
    parser.add_argument("--repeat", type=int, default=2, help="runs of (1)-(3), rotating order; medians (default 2)")
    parser.add_argument("--original-images", type=int, default=16, help="images for (4) (default 16)")
    parser.add_argument("--original-batch", type=int, default=8,
                        help="images per request in (4) (default 8: ~25 MB of base64 PNG each)")
    parser.add_argument("--per-request-concurrency", type=int, default=2, help="requests in flight in (3)")
    parser.add_argument("--search-points", type=int, default=20_000)
    parser.add_argument("--search-queries", type=int, default=200)
    parser.add_argument("--cache-dir", type=Path, default=common.DEFAULT_CACHE_DIR)
    parser.add_argument("--quick", action="store_true", help="smoke run: 16 images, 1 run, 4 original, 5k points")
    parser.add_argument("--ml-env", action="append", metavar="KEY=VALUE",
                        help="extra environment for the ML service process (repeatable), e.g. OMP_WAIT_POLICY=PASSIVE")
    args = parser.parse_args(argv)
    if args.quick:
        args.images, args.repeat, args.original_images = min(args.images, 16), 1, min(args.original_images, 4)
        args.search_points, args.search_queries = min(args.search_points, 5000), min(args.search_queries, 50)
    available, why = common.backend_status(args.models)
    if not available:
        raise SystemExit(f"--models {args.models}: {why}")

    machine = common.machine_info()
    total_started = time.perf_counter()
    images = common.camera_jpegs(args.images, args.cache_dir)
    folder = common.link_folder(images, args.cache_dir / f"ingest-{args.images}")
    folder_paths = sorted(folder.glob("*.jpg"))
    run_dir = Path(tempfile.mkdtemp(prefix="sightline-bench-ingest-"))
    ingest_data = run_dir / "ingest-data"
    figures: dict[str, Any] = {"images": len(folder_paths), "models": args.models, "repeat": args.repeat,
                               "folder_mb": sum(p.stat().st_size for p in folder_paths) / 1e6, "machine": machine,
                               "ml_env": common.parse_env(args.ml_env)}
    try:
        log(f"starting the ML service ({args.models})")
        with common.start_ml(args.models, args.cache_dir / "ml-data", run_dir, env=common.parse_env(args.ml_env)) as ml:
            capabilities = httpx.get(ml.url + "/api/v1/capabilities", headers=common.auth_headers(), timeout=60).json()
            dimension = int(capabilities["dimension"])
            figures.update(embedding_model=capabilities["embedding_model"], dimension=dimension,
                           meaningful=capabilities.get("meaningful"),
                           label=common.backend_label(args.models, capabilities),
                           timing_equivalent=args.models in common.TIMING_EQUIVALENT)
            batch = min(PIPELINE_BATCH, int(capabilities.get("max_batch_size", PIPELINE_BATCH)))

            # search: the model's dimension (in the ingestion service's data dir, for the HTTP figure too),
            # and 384-d (the default `lite` backend) when the model's differs (tiny is 64-d)
            figures["search"] = []
            for dim in sorted({dimension, 384}):
                root = ingest_data if dim == dimension else run_dir / f"search-{dim}"
                log(f"search: {args.search_points} clustered {dim}-d points")
                build, vectors = build_search_collection(root, f"search-{dim}", args.search_points, dim)
                build.update(search_latency(root, f"search-{dim}", vectors, args.search_queries))
                figures["search"].append(build)

            log("preparing pre-reduced 256 px inputs for (2)")
            reduced = [common.reduced_jpeg(p.read_bytes()) for p in folder_paths]
            figures["reduced_kb_per_image"] = sum(map(len, reduced)) / len(reduced) / 1e3
            # warm-up: the model's first batch pays one-off costs
            run_model_only(ml, reduced[: min(len(reduced), 4)], batch)

            warm = run_dir / "warm-up"  # a tiny first job: the service's first job pays one-off costs
            warm.mkdir()
            for index in range(2):
                (warm / f"warm-{index}.jpg").write_bytes(distinct_image(index, size=(640, 480)))
            with common.start_ingest(ml.url, ingest_data, [folder, warm], run_dir) as ingest:
                run_pipeline(ingest, warm, 2, "warm-up")
                runs: dict[str, list[dict[str, Any]]] = {
                    "pipeline": [], "model_only": [], "per_request": [], "ml_direct": [], "decode_only": []}
                order = list(runs)
                for index in range(args.repeat):
                    shift = index % len(order)
                    for key in order[shift:] + order[:shift]:
                        log(f"run {index + 1}/{args.repeat}: {key}")
                        cpu = cpu_snapshot(ml, ingest)
                        if key == "pipeline":
                            result = run_pipeline(ingest, folder, len(folder_paths), f"pipeline-{index}")
                        elif key == "model_only":
                            result = run_model_only(ml, reduced, batch)
                        elif key == "ml_direct":
                            result = run_ml_direct(ml, folder_paths, batch)
                        elif key == "decode_only":
                            result = run_decode_only(folder_paths, os.cpu_count() or 2)
                        else:
                            result = run_per_request(ml, folder_paths, run_dir, f"per-request-{index}",
                                                     capabilities, args.per_request_concurrency)
                        result["cpu_ms_per_image"] = cpu_per_image(cpu, cpu_snapshot(ml, ingest), len(folder_paths))
                        log(f"  {result['images_per_second']:.2f} images/s, CPU ms/image {result['cpu_ms_per_image']}")
                        runs[key].append(result)
                paths: dict[str, Any] = {}
                for key, values in runs.items():
                    paths[key] = {"images_per_second": median(v["images_per_second"] for v in values),
                                  "seconds": median(v["seconds"] for v in values),
                                  "cpu_ms_per_image": {part: median(v["cpu_ms_per_image"][part] for v in values)
                                                       for part in values[0]["cpu_ms_per_image"]},
                                  "runs": values}
                if args.original_images > 0:
                    subset = folder_paths[: args.original_images]
                    log(f"(4) original design on {len(subset)} images (full-size PNG re-encoding is slow)")
                    cpu = cpu_snapshot(ml, ingest)
                    paths["original"] = run_original(ml, subset, run_dir, "original", capabilities,
                                                     args.original_batch, workers=os.cpu_count() or 2)
                    paths["original"]["cpu_ms_per_image"] = cpu_per_image(cpu, cpu_snapshot(ml, ingest), len(subset))
                    log(f"  {paths['original']['images_per_second']:.2f} images/s")
                log(f"search over HTTP: {args.search_queries} text queries x 2")
                figures["http_search"] = http_search_latency(ingest, f"search-{dimension}", args.search_queries)
                figures["http_search"]["ml_embed_text"] = embed_text_latency(ml, args.search_queries)
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)

    base = paths["pipeline"]["images_per_second"]
    of_limit = ratio(base, paths["model_only"]["images_per_second"])
    over_per_request = ratio(base, paths["per_request"]["images_per_second"])
    figures["paths"] = paths
    figures["ratios_vs_pipeline"] = {key: ratio(base, value["images_per_second"]) for key, value in paths.items()
                                     if key != "pipeline"}
    figures["targets"] = {
        "of_model_only": {"target": TARGET_OF_LIMIT, "value": of_limit, "met": (of_limit or 0) >= TARGET_OF_LIMIT},
        "over_per_request": {"target": TARGET_OVER_PER_REQUEST, "value": over_per_request,
                             "met": (over_per_request or 0) >= TARGET_OVER_PER_REQUEST},
    }
    figures["total_seconds"] = time.perf_counter() - total_started
    machine["loadavg_1m_at_end"] = os.getloadavg()[0]
    common.emit("ingest", figures, summary_lines(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
