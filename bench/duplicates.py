"""Near-duplicate detection: precision and recall per backend on a generated set, and the scan's speed at scale.

    python bench/duplicates.py [--backends tiny,lite] [--generated 30] [--scale 20000] [--cache-dir DIR]

1. Quality, per backend (``tiny``, ``lite``; models loaded in-process, no services): the real photos of
   bench/quality.py plus ``--generated`` photo-like JPEGs (tests/samples.py) are the originals. Each gets four
   copies: re-encoded (JPEG quality 60), resized to 50 %, cropped 6 % on every side, brightness +20 %. As many
   generated photos again with no copy are distractors. Everything is embedded, written to a real embedded
   store, scanned by the review code (`scan_near`: batched neighbour search) and grouped transitively; for each
   threshold, precision and recall over pairs (two images in one group) against the truth (an original with
   its copies), and the recall of each kind of copy (joined to its original's group).
2. Scale: ``--scale`` random 384-d unit vectors, a tenth of them with a planted near copy (cosine ~0.97),
   upserted into the embedded store, its HNSW index built (as the service does; before that the embedded
   store searches exactly), and scanned: seconds and points/s of the scan, recall of the planted pairs.

Prints one BENCH_JSON line and a table per backend.
"""

from __future__ import annotations

import argparse
import io
import itertools
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

import common
import quality

sys.path.insert(0, str(common.REPO_ROOT))  # tests.samples: the generated photos

THRESHOLDS = (0.80, 0.85, 0.90, 0.92, 0.94, 0.95, 0.96, 0.97, 0.98, 0.99)
COPIES = ("reencoded", "resized", "cropped", "brighter")


def copies_of(image) -> dict[str, bytes]:
    from PIL import ImageEnhance

    def jpeg(img, q=90) -> bytes:
        buffer = io.BytesIO()
        img.save(buffer, "JPEG", quality=q)
        return buffer.getvalue()

    w, h = image.size
    dx, dy = round(w * 0.06), round(h * 0.06)
    return {"original": jpeg(image, 92), "reencoded": jpeg(image, 60),
            "resized": jpeg(image.resize((w // 2, h // 2))), "cropped": jpeg(image.crop((dx, dy, w - dx, h - dy))),
            "brighter": jpeg(ImageEnhance.Brightness(image).enhance(1.2))}


def image_set(generated: int) -> tuple[list[tuple[str, str, bytes]], dict[str, str]]:
    """[(label, kind, bytes)] and label → the original it copies (itself for originals and distractors)."""
    from PIL import Image

    from tests.samples import camera_like_jpeg

    originals = {}
    with tempfile.TemporaryDirectory() as folder:
        for name, path in quality.save_photos(Path(folder)).items():
            with Image.open(path) as source:
                originals[name] = source.convert("RGB")
    for seed in range(generated):
        originals[f"generated{seed}"] = Image.open(io.BytesIO(camera_like_jpeg(640, 480, seed=seed))).convert("RGB")
    items, truth = [], {}
    for name, image in originals.items():
        for kind, data in copies_of(image).items():
            items.append((f"{name}:{kind}", kind, data))
            truth[f"{name}:{kind}"] = name
    for seed in range(generated, 2 * generated):
        items.append((f"distractor{seed}", "distractor", camera_like_jpeg(640, 480, seed=seed)))
        truth[f"distractor{seed}"] = f"distractor{seed}"
    return items, truth


def embed(backend_name: str, items: list[tuple[str, str, bytes]], cache_dir: Path) -> np.ndarray:
    from PIL import Image

    from sightline.config import MLSettings
    from sightline.inference.models.registry import load_backend

    backend = load_backend(MLSettings(models=backend_name, data_dir=cache_dir / "ml-data", device="cpu"))
    rows = []
    for start in range(0, len(items), 32):
        chunk = [backend.preprocess(Image.open(io.BytesIO(data)).convert("RGB")) for _, _, data in
                 items[start:start + 32]]
        rows.append(backend.embed_images(chunk, caption=False).embeddings)
    backend.unload()
    return np.concatenate(rows)


def scanned_pairs(vectors: np.ndarray, labels: list[str], floor: float, index: bool = False) -> tuple[dict, float]:
    from sightline.ingest.review.duplicates import scan_near
    from sightline.ingest.review.tasks import Progress, Task
    from sightline.ingest.vectors import CollectionParams, Point, open_store

    with tempfile.TemporaryDirectory() as folder, open_store(Path(folder)) as store:
        store.create_collection("bench", CollectionParams(vector_size=vectors.shape[1]))
        ids = [str(uuid.uuid5(uuid.NAMESPACE_URL, label)) for label in labels]
        for start in range(0, len(ids), 1000):
            store.upsert("bench", [Point(i, v.tolist(), {}) for i, v in
                                   zip(ids[start:start + 1000], vectors[start:start + 1000])])
        if index and hasattr(store, "build_index"):  # the embedded store searches exactly until then
            started = time.perf_counter()
            store.build_index("bench")
            common.log(f"HNSW index of {len(ids)} points built in {time.perf_counter() - started:.1f} s")
        started, cpu = time.perf_counter(), common.process_cpu_seconds()
        pairs = scan_near(store, "bench", floor, Progress(Task("bench", "near", "bench")))
        seconds = time.perf_counter() - started
        common.log(f"scan of {len(ids)} points: {seconds:.1f} s, {common.process_cpu_seconds() - cpu:.1f} CPU-s")
    label_of = dict(zip(ids, labels))
    return {tuple(sorted((label_of[a], label_of[b]))): score for (a, b), score in pairs.items()}, seconds


def group_pairs_of(groups: list[list[str]]) -> set[tuple[str, str]]:
    return {tuple(sorted(pair)) for group in groups for pair in itertools.combinations(group, 2)}


def scores_at(pairs: dict, truth: dict[str, str], threshold: float) -> dict:
    from sightline.ingest.review.groups import connected_groups

    groups = connected_groups([pair for pair, score in pairs.items() if score >= threshold])
    predicted = group_pairs_of(groups)
    by_original: dict[str, list[str]] = {}
    for label, original in truth.items():
        by_original.setdefault(original, []).append(label)
    true = group_pairs_of(list(by_original.values()))
    hit = len(predicted & true)
    group_of = {label: index for index, group in enumerate(groups) for label in group}
    copy_recall = {}
    for kind in COPIES:
        copies = [label for label in truth if label.endswith(f":{kind}")]
        joined = [label for label in copies if label in group_of
                  and group_of[label] == group_of.get(f"{truth[label]}:original")]
        copy_recall[kind] = len(joined) / len(copies)
    return {"threshold": threshold, "precision": hit / len(predicted) if predicted else 1.0,
            "recall": hit / len(true), "groups": len(groups), "copy_recall": copy_recall}


def quality_run(backend: str, items, truth, cache_dir: Path) -> dict:
    common.log(f"{backend}: embedding {len(items)} images")
    started = time.perf_counter()
    vectors = embed(backend, items, cache_dir)
    embed_s = time.perf_counter() - started
    pairs, scan_s = scanned_pairs(vectors, [label for label, _, _ in items], min(THRESHOLDS))
    rows = [scores_at(pairs, truth, t) for t in THRESHOLDS]
    best = max(rows, key=lambda row: (2 * row["precision"] * row["recall"] / ((row["precision"] + row["recall"])
                                                                           or 1), row["threshold"]))
    return {"images": len(items), "embed_s": embed_s, "scan_s": scan_s, "thresholds": rows, "best": best}


def scale_run(count: int) -> dict:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(count, 384)).astype(np.float32)
    planted = count // 10
    noise = rng.normal(size=(planted, 384)).astype(np.float32) * 0.012
    vectors[-planted:] = vectors[:planted] / np.linalg.norm(vectors[:planted], axis=1, keepdims=True) * 1.0
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors[-planted:] += noise
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    labels = [str(i) for i in range(count)]
    common.log(f"scale: {count} points, {planted} planted copies")
    started = time.perf_counter()
    pairs, scan_s = scanned_pairs(vectors, labels, 0.9, index=True)
    total_s = time.perf_counter() - started
    found = sum(1 for i in range(planted) if tuple(sorted((str(i), str(count - planted + i)))) in pairs)
    return {"points": count, "scan_s": scan_s, "write_and_scan_s": total_s, "points_per_s": count / scan_s,
            "planted_recall": found / planted, "pairs_found": len(pairs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="tiny,lite")
    parser.add_argument("--generated", type=int, default=30)
    parser.add_argument("--scale", type=int, default=20000, help="points in the speed run (0: none)")
    parser.add_argument("--cache-dir", type=Path, default=common.DEFAULT_CACHE_DIR)
    args = parser.parse_args()
    items, truth = image_set(args.generated)
    figures: dict = {"machine": common.machine_info(), "backends": {}}
    summary = []
    for backend in [name for name in args.backends.split(",") if name]:
        result = quality_run(backend, items, truth, args.cache_dir)
        figures["backends"][backend] = result
        summary.append(f"{backend}: {result['images']} images, embedded in {result['embed_s']:.1f} s, "
                       f"scanned in {result['scan_s']:.2f} s")
        summary.append("  threshold  precision  recall  groups  " + "  ".join(f"{k:>9}" for k in COPIES))
        for row in result["thresholds"]:
            summary.append(f"  {row['threshold']:9.2f}  {row['precision']:9.3f}  {row['recall']:6.3f}  "
                           f"{row['groups']:6d}  " + "  ".join(f"{row['copy_recall'][k]:9.2f}" for k in COPIES))
    if args.scale:
        scale = scale_run(args.scale)
        figures["scale"] = scale
        summary.append(f"scale: {scale['points']} points scanned in {scale['scan_s']:.1f} s "
                       f"({scale['points_per_s']:.0f} points/s), planted pairs found: {scale['planted_recall']:.3f}")
    common.emit("duplicates", figures, summary)


if __name__ == "__main__":
    main()
