"""Near-duplicate detection: precision and recall per backend on a generated set, before and after the
perceptual-hash check and star grouping, and the scan's speed at scale.

    python bench/duplicates.py [--backends tiny,lite] [--generated 30] [--scale 20000] [--cache-dir DIR]

1. Quality, per backend (``tiny``, ``lite``; models loaded in-process, no services): the real photos of
   bench/quality.py plus ``--generated`` photo-like JPEGs (tests/samples.py: look-alike scenes) are the
   originals. Each gets five copies: re-encoded (JPEG quality 60), resized to 50 %, cropped 6 % on every side,
   brightness +20 %, and a burst shot (shifted 3 % and zoomed 2 %). As many generated photos again with no
   copy are distractors. Everything is embedded and hashed as the ML service does (`perceptual_hash` of the
   reduced decode), written to a real embedded store, scanned by the review code (`scan_near`) and grouped by
   `build_groups` four ways: vectors only with transitive grouping (before: what issue 15's first cut did),
   vectors with star grouping, hash check with transitive grouping, hash check with star grouping (after: the
   default). For each threshold: precision and recall over pairs (two images in one group) against the truth
   (an original with its copies), on everything, on the real photos only and on the generated ones only, and
   the recall of each kind of copy (joined to its original's group). Then the hash limit swept at one threshold.
2. Scale: ``--scale`` random 384-d unit vectors with random hashes, a tenth of them with a planted near copy
   (cosine ~0.97, 3 hash bits flipped), upserted into the embedded store, its HNSW index built (as the service
   does; before that the embedded store searches exactly), scanned and grouped: seconds and points/s of the
   scan, the grouping's seconds, recall of the planted pairs.

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

THRESHOLDS = (0.80, 0.85, 0.88, 0.90, 0.92, 0.94, 0.95, 0.96, 0.97, 0.98)
COPIES = ("reencoded", "resized", "cropped", "brighter", "burst")
VARIANTS = {"before": (False, "single"), "star": (False, "star"), "hash+single": (True, "single"),
            "after": (True, "star")}  # name → (hash check, linkage)
HASH_SWEEP = (8, 10, 12, 14, 16, 18, 20, 22, 24)
SUBSETS = ("all", "real", "generated")


def copies_of(image) -> dict[str, bytes]:
    from PIL import ImageEnhance

    def jpeg(img, q=90) -> bytes:
        buffer = io.BytesIO()
        img.save(buffer, "JPEG", quality=q)
        return buffer.getvalue()

    w, h = image.size
    dx, dy = round(w * 0.06), round(h * 0.06)
    shift, zoom = round(w * 0.03), round(min(w, h) * 0.02)
    return {"original": jpeg(image, 92), "reencoded": jpeg(image, 60),
            "resized": jpeg(image.resize((w // 2, h // 2))), "cropped": jpeg(image.crop((dx, dy, w - dx, h - dy))),
            "brighter": jpeg(ImageEnhance.Brightness(image).enhance(1.2)),
            "burst": jpeg(image.crop((shift + zoom, zoom, w, h - zoom)).resize((w, h)))}


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
        items.append((f"generated-distractor{seed}", "distractor", camera_like_jpeg(640, 480, seed=seed)))
        truth[f"generated-distractor{seed}"] = f"generated-distractor{seed}"
    return items, truth


def payloads_of(items: list[tuple[str, str, bytes]]) -> list[dict]:
    """What the ingestion service stores that grouping reads: sha256 and the ML service's perceptual hash."""
    import hashlib

    from sightline.imaging import decode_image
    from sightline.imaging.phash import perceptual_hash

    return [{"sha256": hashlib.sha256(data).hexdigest(), "path": label,
             "phash": perceptual_hash(decode_image(data, min_side=224).image)} for label, _, data in items]


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


def scanned_pairs(vectors: np.ndarray, labels: list[str], payloads: list[dict], floor: float,
                  index: bool = False) -> tuple[dict, float]:
    """(label, label) → similarity of the scan's pairs, and the scan's seconds."""
    from sightline.ingest.review.duplicates import scan_near
    from sightline.ingest.review.tasks import Progress, Task
    from sightline.ingest.vectors import CollectionParams, Point, open_store

    with tempfile.TemporaryDirectory() as folder, open_store(Path(folder)) as store:
        store.create_collection("bench", CollectionParams(vector_size=vectors.shape[1]))
        ids = [str(uuid.uuid5(uuid.NAMESPACE_URL, label)) for label in labels]
        for start in range(0, len(ids), 1000):
            store.upsert("bench", [Point(i, v.tolist(), p) for i, v, p in
                                   zip(ids[start:start + 1000], vectors[start:start + 1000], payloads[start:])])
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


def grouped(pairs: dict, payloads: dict[str, dict], threshold: float, variant: str) -> list[list[str]]:
    from sightline.ingest.review.duplicates import build_groups

    hashed, linkage = VARIANTS[variant]
    seen = payloads if hashed else {label: {"sha256": p["sha256"]} for label, p in payloads.items()}
    at = {pair: score for pair, score in pairs.items() if score >= threshold}
    return [group.point_ids for group in build_groups("near", [], at, set(), seen, linkage)]


def group_pairs_of(groups: list[list[str]]) -> set[tuple[str, str]]:
    return {tuple(sorted(pair)) for group in groups for pair in itertools.combinations(group, 2)}


def in_subset(label: str, subset: str) -> bool:
    return subset == "all" or (label.startswith("generated") == (subset == "generated"))


def scores(groups: list[list[str]], truth: dict[str, str], subset: str) -> dict:
    by_original: dict[str, list[str]] = {}
    for label, original in truth.items():
        if in_subset(label, subset):
            by_original.setdefault(original, []).append(label)
    true = group_pairs_of(list(by_original.values()))
    predicted = {pair for pair in group_pairs_of(groups) if in_subset(pair[0], subset) or in_subset(pair[1], subset)}
    hit = len(predicted & true)
    return {"precision": hit / len(predicted) if predicted else 1.0, "recall": hit / len(true) if true else 1.0}


def copy_recall(groups: list[list[str]], truth: dict[str, str]) -> dict[str, float]:
    group_of = {label: index for index, group in enumerate(groups) for label in group}
    recall = {}
    for kind in COPIES:
        copies = [label for label in truth if label.endswith(f":{kind}")]
        joined = [label for label in copies if label in group_of
                  and group_of[label] == group_of.get(f"{truth[label]}:original")]
        recall[kind] = len(joined) / len(copies)
    return recall


def scores_at(pairs: dict, payloads: dict, truth: dict[str, str], threshold: float) -> dict:
    row: dict = {"threshold": threshold}
    for variant in VARIANTS:
        groups = grouped(pairs, payloads, threshold, variant)
        row[variant] = {subset: scores(groups, truth, subset) for subset in SUBSETS}
        row[variant]["groups"] = len(groups)
        row[variant]["copy_recall"] = copy_recall(groups, truth)
    return row


def hash_sweep(pairs: dict, payloads: dict, truth: dict[str, str], threshold: float) -> list[dict]:
    from sightline.ingest.review import hashes

    chosen, rows = hashes.HASH_MAX_BITS, []
    try:
        for bits in HASH_SWEEP:
            hashes.HASH_MAX_BITS = bits
            groups = grouped(pairs, payloads, threshold, "after")
            rows.append({"bits": bits, **scores(groups, truth, "all"), "copy_recall": copy_recall(groups, truth)})
    finally:
        hashes.HASH_MAX_BITS = chosen
    return rows


def f1(score: dict) -> float:
    return 2 * score["precision"] * score["recall"] / ((score["precision"] + score["recall"]) or 1)


def quality_run(backend: str, items, payloads: list[dict], truth, cache_dir: Path) -> dict:
    common.log(f"{backend}: embedding {len(items)} images")
    started = time.perf_counter()
    vectors = embed(backend, items, cache_dir)
    embed_s = time.perf_counter() - started
    labels = [label for label, _, _ in items]
    pairs, scan_s = scanned_pairs(vectors, labels, [{} for _ in labels], min(THRESHOLDS))
    by_label = dict(zip(labels, payloads))
    rows = [scores_at(pairs, by_label, truth, t) for t in THRESHOLDS]
    best = {variant: max(rows, key=lambda row: (f1(row[variant]["all"]), row["threshold"]))["threshold"]
            for variant in VARIANTS}
    return {"images": len(items), "embed_s": embed_s, "scan_s": scan_s, "thresholds": rows, "best": best,
            "hash_sweep": hash_sweep(pairs, by_label, truth, best["after"])}


def scale_run(count: int) -> dict:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(count, 384)).astype(np.float32)
    planted = count // 10
    noise = rng.normal(size=(planted, 384)).astype(np.float32) * 0.012
    vectors[-planted:] = vectors[:planted] / np.linalg.norm(vectors[:planted], axis=1, keepdims=True) * 1.0
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors[-planted:] += noise
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    hashes = rng.integers(0, 2**63, size=count, dtype=np.int64)
    flips = np.bitwise_or.reduce(1 << rng.integers(0, 63, size=(planted, 3)), axis=1)
    hashes[-planted:] = hashes[:planted] ^ flips
    labels = [str(i) for i in range(count)]
    payloads = [{"phash": f"{value:016x}", "sha256": label} for value, label in zip(hashes.tolist(), labels)]
    common.log(f"scale: {count} points, {planted} planted copies")
    started = time.perf_counter()
    pairs, scan_s = scanned_pairs(vectors, labels, payloads, 0.9, index=True)
    total_s = time.perf_counter() - started
    started = time.perf_counter()
    groups = grouped(pairs, dict(zip(labels, payloads)), 0.9, "after")
    group_s = time.perf_counter() - started
    found = group_pairs_of(groups)
    hit = sum(1 for i in range(planted) if tuple(sorted((str(i), str(count - planted + i)))) in found)
    return {"points": count, "scan_s": scan_s, "write_and_scan_s": total_s, "points_per_s": count / scan_s,
            "group_s": group_s, "planted_recall": hit / planted, "pairs_found": len(pairs), "groups": len(groups)}


def table(result: dict) -> list[str]:
    lines = ["  thr    " + "  ".join(f"{v:>17}" for v in VARIANTS) + "   real P/R before  after   generated after  "
             + " ".join(f"{k[:7]:>7}" for k in COPIES)]
    for row in result["thresholds"]:
        cells = "  ".join(f"P {row[v]['all']['precision']:.3f} R {row[v]['all']['recall']:.3f}" for v in VARIANTS)
        before, after = row["before"]["real"], row["after"]
        lines.append(f"  {row['threshold']:.2f}  {cells}   {before['precision']:.3f}/{before['recall']:.3f}  "
                     f"{after['real']['precision']:.3f}/{after['real']['recall']:.3f}   "
                     f"{after['generated']['precision']:.3f}/{after['generated']['recall']:.3f}      "
                     + " ".join(f"{after['copy_recall'][k]:7.2f}" for k in COPIES))
    lines.append(f"  hash limit swept at {result['best']['after']:.2f} (after):")
    for row in result["hash_sweep"]:
        lines.append(f"    <= {row['bits']:2d} bits: P {row['precision']:.3f} R {row['recall']:.3f}  "
                     + " ".join(f"{k[:7]}={row['copy_recall'][k]:.2f}" for k in COPIES))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="tiny,lite")
    parser.add_argument("--generated", type=int, default=30)
    parser.add_argument("--scale", type=int, default=20000, help="points in the speed run (0: none)")
    parser.add_argument("--cache-dir", type=Path, default=common.DEFAULT_CACHE_DIR)
    args = parser.parse_args()
    items, truth = image_set(args.generated)
    payloads = payloads_of(items)
    figures: dict = {"machine": common.machine_info(), "backends": {}}
    summary = []
    for backend in [name for name in args.backends.split(",") if name]:
        result = quality_run(backend, items, payloads, truth, args.cache_dir)
        figures["backends"][backend] = result
        summary.append(f"{backend}: {result['images']} images, embedded in {result['embed_s']:.1f} s, "
                       f"scanned in {result['scan_s']:.2f} s; best threshold (F1) per variant: {result['best']}")
        summary.extend(table(result))
    if args.scale:
        scale = scale_run(args.scale)
        figures["scale"] = scale
        summary.append(f"scale: {scale['points']} points scanned in {scale['scan_s']:.1f} s "
                       f"({scale['points_per_s']:.0f} points/s), grouped in {scale['group_s']:.2f} s, "
                       f"planted pairs found: {scale['planted_recall']:.3f}")
    common.emit("duplicates", figures, summary)


if __name__ == "__main__":
    main()
