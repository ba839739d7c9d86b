"""Where the strong matches of a text search end: the "weaker matches" line of the search API, measured per
backend on bench/quality.py's real photos and queries.

    python bench/strong_matches.py [--backends lite,tiny] [--cache-dir DIR]

In-process (no services): each backend embeds the photos and the queries of bench/quality_queries.json; for
each query, every photo's cosine similarity to it. A rule marks a hit strong when its similarity is at least
``floor`` and at least ``ratio`` × the query's best similarity (`sightline.ingest.listing.StrongRule`). For a
grid of rules it reports, over all queries: recall (the expected photo is strong), how many photos a query
shows as strong on average, and precision (strong photos that are expected ones). Prints the figures of the
rule in `listing.STRONG_RULES` and the best rules found, and one ``BENCH_JSON`` line.

Queries that mean nothing to a model (NOISE_QUERIES: camera file names, typed gibberish; the walk-through's
`IMG_0022` made 39 photos strong by similarity alone): the rule's floor is the least similarity a hit with no
word match needs, so it must sit above what these reach. For floors at the chosen ratio: the recall and strong
photos of the real queries beside the strong photos of the noise queries, and the lowest floor at which no noise
query has a strong photo (`calibrated_floor`).

Narrowed searches (facts or filters, "dog 2019"): the chosen rule judged against the best similarity of the
pool searched (as before) and against the collection's best (as the search API now does), over two pools per
query: every photo but the expected ones (no photo of the pool is what the query asks for: a strong one is a
false one) and the expected photos with every other photo of an odd index (recall of the expected photo).

Searches by an image ("search by image", "More like this"): image-to-image similarities
run far higher than text-to-image ones (lite: 0.6-0.86 between unrelated photos), so they have their own rule
(`listing.IMAGE_RULES`). Noise queries: each photo searched among the 27 others (none of them is what it shows:
a strong one is a false one; "More like this" is exactly this). True matches: copies of each photo searched among
all 28, re-encoded (60 % size, JPEG 70: `quality.query_copy`), cropped (the middle 80 %) and brightened (×1.3):
recall (the original is strong) and the other photos made strong. For floors at the image rule's ratio: both,
and the lowest floor no noise query passes (`image_calibrated_floor`).
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402  bench/common.py: the cache dir
import quality  # noqa: E402  the photos and the queries

from sightline.config import MLSettings  # noqa: E402
from sightline.imaging import decode_image  # noqa: E402
from sightline.inference.models.registry import load_backend  # noqa: E402
from sightline.ingest.listing import (DEFAULT_IMAGE_RULE, DEFAULT_RULE, IMAGE_RULES, STRONG_RULES,  # noqa: E402
                                       StrongRule)

FLOORS = [0.0, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55]
FINE_FLOORS = [round(0.25 + 0.01 * step, 2) for step in range(26)]  # 0.25 … 0.50
# written before measuring: file names as cameras and scanners make them, and typed gibberish
NOISE_QUERIES = ["IMG_0022", "DSC_9999", "IMG_20200314_101112", "P1000231", "DSCF1204", "scan_0002",
                 "xyzzy qwerty", "asdf", "0042", "IMG_4411.JPG", "qwertyuiop", "PXL_20230704_1234"]
RATIOS = [0.0, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95]


IMAGE_FLOORS = [round(0.50 + 0.01 * step, 2) for step in range(50)]  # 0.50 … 0.99
COPIES = ("re-encoded", "cropped", "brightened")


def similarities(backend_name: str, cache_dir: Path, photos: dict[str, Path],
                 queries: list[dict[str, Any]]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(queries × photos) cosine similarities, photos in the order of `photos`; and the image queries'
    similarities: "photos" (photos × photos) and each kind of copy (copies of the photos × photos)."""
    backend = load_backend(MLSettings(models=backend_name, data_dir=cache_dir / "ml-data", device="cpu"))
    datas = [path.read_bytes() for path in photos.values()]
    datas += [copy(path, kind) for kind in COPIES for path in photos.values()]
    items = [backend.preprocess(decode_image(data, min_side=backend.info.min_image_side).image) for data in datas]
    images = np.asarray(backend.embed_images(items, caption=False).embeddings)
    texts = backend.embed_texts([query["text"] for query in queries])
    count = len(photos)
    stored = images[:count]
    by_image = {"photos": stored @ stored.T}
    for index, kind in enumerate(COPIES, start=1):
        by_image[kind] = images[count * index:count * (index + 1)] @ stored.T
    return np.asarray(texts) @ stored.T, by_image


def copy(path: Path, kind: str) -> bytes:
    """A copy of the photo of one kind of COPIES, as a JPEG."""
    from PIL import Image, ImageEnhance

    if kind == "re-encoded":
        return quality.query_copy(path)
    with Image.open(path) as source:
        image = source.convert("RGB")
    if kind == "cropped":
        dx, dy = image.width // 10, image.height // 10
        image = image.crop((dx, dy, image.width - dx, image.height - dy))
    else:
        image = ImageEnhance.Brightness(image).enhance(1.3)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def image_figures(rule: StrongRule, by_image: dict[str, np.ndarray]) -> dict:
    """Noise queries (each photo among the others): strong photos; copies (among all): recall of the original,
    other photos strong."""
    noise = by_image["photos"].copy()
    np.fill_diagonal(noise, -np.inf)
    noise_counts = strong_counts(rule, noise)
    found = others = 0
    for kind in COPIES:
        for index, row in enumerate(by_image[kind]):
            strong = set(np.flatnonzero(row >= rule.cut(float(row.max()))))
            found += index in strong
            others += len(strong - {index})
    queries = len(COPIES) * len(noise)
    return {"floor": rule.floor, "ratio": rule.ratio,
            "noise_strong_per_query": sum(noise_counts) / len(noise_counts),
            "noise_queries_with_strong": sum(count > 0 for count in noise_counts),
            "copy_recall": found / queries, "copy_others_strong_per_query": others / queries}


def image_report(backend: str, by_image: dict[str, np.ndarray], names: list[str]) -> dict:
    """The image rule's figures, the similarities behind them and a floor table at its ratio."""
    rule = IMAGE_RULES.get(backend, DEFAULT_IMAGE_RULE)
    noise = by_image["photos"].copy()
    np.fill_diagonal(noise, -np.inf)
    print(f"-- {backend}, searches by an image: {len(noise)} photos, each among the others (noise) and "
          f"{len(COPIES)} copies of each among all")
    print(f"noise: best similarity median {np.median(noise.max(axis=1)):.3f}, max {noise.max():.3f}; text rule "
          f"{STRONG_RULES.get(backend, DEFAULT_RULE)} on them: "
          f"{np.mean(strong_counts(STRONG_RULES.get(backend, DEFAULT_RULE), noise)):.2f} strong photos a query")
    spread = {kind: np.diagonal(by_image[kind]) for kind in COPIES}
    print("copies' similarity to their original: " + "; ".join(
        f"{kind} min {values.min():.3f} median {np.median(values):.3f}" for kind, values in spread.items()))
    print("floor ratio  noise strong/query  noise queries with one  copy recall  others strong/copy")
    rows = [image_figures(StrongRule(floor, rule.ratio), by_image) for floor in IMAGE_FLOORS]
    for row in rows:
        if row["noise_queries_with_strong"] <= 5 or row["floor"] == rule.floor:
            print(f"{row['floor']:5.2f} {row['ratio']:5.2f}  {row['noise_strong_per_query']:18.2f}  "
                  f"{row['noise_queries_with_strong']:22d}  {row['copy_recall']:11.2f}  "
                  f"{row['copy_others_strong_per_query']:18.2f}")
    chosen = image_figures(rule, by_image)
    calibrated = next((row["floor"] for row in rows if row["noise_queries_with_strong"] == 0), None)
    above = sorted({tuple(sorted((names[i], names[j]))) + (round(float(noise[i, j]), 3),)
                    for i, j in zip(*np.nonzero(noise >= rule.floor))}, key=lambda pair: -pair[2])
    print(f"noise pairs at or above the image floor {rule.floor}: {above[:10]}")
    print(f"image rule {rule}: {chosen['noise_strong_per_query']:.2f} strong photos a noise query, copy recall "
          f"{chosen['copy_recall']:.2f}; lowest floor no noise query passes: {calibrated}")
    return {"chosen": chosen, "floors": rows, "calibrated_floor": calibrated,
            "noise_best_max": float(noise.max()),
            "copy_min": {kind: float(values.min()) for kind, values in spread.items()}}


def score_rule(rule: StrongRule, sims: np.ndarray, names: list[str], queries: list[dict[str, Any]]) -> dict:
    found = shown = right = 0
    for row, query in zip(sims, queries):
        cut = rule.cut(float(row.max()))
        strong = {names[i] for i in np.flatnonzero(row >= cut)}
        found += bool(strong & set(query["expected"]))
        shown += len(strong)
        right += len(strong & set(query["expected"]))
    return {"floor": rule.floor, "ratio": rule.ratio, "recall": found / len(queries),
            "strong_per_query": shown / len(queries), "precision": right / shown if shown else 0.0}


def strong_counts(rule: StrongRule, sims: np.ndarray) -> list[int]:
    """How many photos each query (a row) shows as strong by similarity alone."""
    return [int((row >= rule.cut(float(row.max()))).sum()) for row in sims]


def floors(ratio: float, sims: np.ndarray, noise: np.ndarray, names: list[str],
           queries: list[dict[str, Any]]) -> list[dict]:
    """For each floor at `ratio`: the real queries' figures and the noise queries' strong photos."""
    rows = []
    for floor in FINE_FLOORS:
        counts = strong_counts(StrongRule(floor, ratio), noise)
        rows.append({**score_rule(StrongRule(floor, ratio), sims, names, queries),
                     "noise_strong_per_query": sum(counts) / len(counts),
                     "noise_queries_with_strong": sum(count > 0 for count in counts)})
    return rows


def print_floors(rows: list[dict], noise: np.ndarray) -> float | None:
    """The floor table; returns the lowest floor no noise query passes."""
    print(f"noise queries ({len(noise)}): best similarity median {np.median(noise.max(axis=1)):.3f}, "
          f"max {noise.max():.3f}")
    print("floor ratio  recall  strong/query  precision  noise strong/query  noise queries with one")
    for row in rows:
        print(f"{row['floor']:5.2f} {row['ratio']:5.2f}  {row['recall']:6.2f}  {row['strong_per_query']:12.2f}  "
              f"{row['precision']:9.2f}  {row['noise_strong_per_query']:18.2f}  {row['noise_queries_with_strong']:22d}")
    return next((row["floor"] for row in rows if row["noise_queries_with_strong"] == 0), None)


def report(backend: str, sims: np.ndarray, names: list[str], queries: list[dict[str, Any]],
           noise: np.ndarray) -> dict:
    expected_best = [max(row[names.index(n)] for n in q["expected"]) for row, q in zip(sims, queries)]
    unrelated_best = [max(v for n, v in zip(names, row) if n not in q["expected"]) for row, q in zip(sims, queries)]
    grid = [score_rule(StrongRule(f, r), sims, names, queries) for f, r in itertools.product(FLOORS, RATIOS)]
    good = sorted(grid, key=lambda s: (-(s["recall"] >= 0.9), -s["precision"], -s["recall"]))[:5]
    chosen = score_rule(STRONG_RULES.get(backend, DEFAULT_RULE), sims, names, queries)
    narrowed = narrowed_pools(STRONG_RULES.get(backend, DEFAULT_RULE), sims, names, queries)
    print(f"\n== {backend}: {len(queries)} queries over {len(names)} photos")
    print(f"expected photo's similarity: median {np.median(expected_best):.3f}, min {min(expected_best):.3f}; "
          f"best unrelated: median {np.median(unrelated_best):.3f}, max {max(unrelated_best):.3f}")
    print("floor ratio  recall  strong/query  precision")
    for label, row in [("chosen", chosen)] + [("", row) for row in good]:
        print(f"{row['floor']:5.2f} {row['ratio']:5.2f}  {row['recall']:6.2f}  {row['strong_per_query']:12.2f}  "
              f"{row['precision']:9.2f}  {label}")
    print("narrowed pools, chosen rule: judged by   strong/query without the expected   recall with it")
    for standard in ("pool", "collection"):
        row = narrowed[standard]
        print(f"  {standard:>10}'s best          {row['false_strong_per_query']:12.2f}"
              f"                    {row['recall']:6.2f}")
    rule = STRONG_RULES.get(backend, DEFAULT_RULE)
    by_floor = floors(rule.ratio, sims, noise, names, queries)
    calibrated = print_floors(by_floor, noise)
    chosen["noise_strong_per_query"] = float(np.mean(strong_counts(rule, noise)))
    print(f"lowest floor no noise query passes: {calibrated}; chosen rule: {chosen['noise_strong_per_query']:.2f} "
          "strong photos a noise query")
    return {"backend": backend, "chosen": chosen, "best": good, "expected_median": float(np.median(expected_best)),
            "unrelated_median": float(np.median(unrelated_best)), "narrowed": narrowed, "floors": by_floor,
            "calibrated_floor": calibrated}


def narrowed_pools(rule: StrongRule, sims: np.ndarray, names: list[str], queries: list[dict[str, Any]]) -> dict:
    """Strong photos per query in a pool without the expected photos, and recall in a pool with them, the rule
    judged against the pool's best and against the collection's."""
    out = {}
    for standard in ("pool", "collection"):
        false_strong = found = 0
        for row, query in zip(sims, queries):
            expected = [names.index(name) for name in query["expected"]]
            without = [i for i in range(len(names)) if i not in expected]
            within = sorted({*expected, *(i for i in without if i % 2)})
            for pool in (without, within):
                cut = rule.cut(float(row.max() if standard == "collection" else row[pool].max()))
                strong = {i for i in pool if row[i] >= cut}
                false_strong += len(strong) if pool is without else 0
                found += bool(strong & set(expected)) if pool is within else 0
        out[standard] = {"false_strong_per_query": false_strong / len(queries), "recall": found / len(queries)}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="lite,tiny")
    parser.add_argument("--cache-dir", type=Path, default=common.DEFAULT_CACHE_DIR)
    args = parser.parse_args(argv)
    queries = quality.load_queries()
    with tempfile.TemporaryDirectory() as folder:
        photos = quality.save_photos(Path(folder))
        names = list(photos)
        results = []
        for backend in args.backends.split(","):
            texts = [*queries, *({"text": text} for text in NOISE_QUERIES)]
            sims, by_image = similarities(backend, args.cache_dir, photos, texts)
            results.append(report(backend, sims[:len(queries)], names, queries, sims[len(queries):]))
            results[-1]["image"] = image_report(backend, by_image, names)
    print("BENCH_JSON " + json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
