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
"""

from __future__ import annotations

import argparse
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
from sightline.ingest.listing import DEFAULT_RULE, STRONG_RULES, StrongRule  # noqa: E402

FLOORS = [0.0, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55]
FINE_FLOORS = [round(0.25 + 0.01 * step, 2) for step in range(26)]  # 0.25 … 0.50
# written before measuring: file names as cameras and scanners make them, and typed gibberish
NOISE_QUERIES = ["IMG_0022", "DSC_9999", "IMG_20200314_101112", "P1000231", "DSCF1204", "scan_0002",
                 "xyzzy qwerty", "asdf", "0042", "IMG_4411.JPG", "qwertyuiop", "PXL_20230704_1234"]
RATIOS = [0.0, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95]


def similarities(backend_name: str, cache_dir: Path, photos: dict[str, Path],
                 queries: list[dict[str, Any]]) -> np.ndarray:
    """(queries × photos) cosine similarities, photos in the order of `photos`."""
    backend = load_backend(MLSettings(models=backend_name, data_dir=cache_dir / "ml-data", device="cpu"))
    items = [backend.preprocess(decode_image(path.read_bytes(), min_side=backend.info.min_image_side).image)
             for path in photos.values()]
    images = backend.embed_images(items, caption=False).embeddings
    texts = backend.embed_texts([query["text"] for query in queries])
    return np.asarray(texts) @ np.asarray(images).T


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
            sims = similarities(backend, args.cache_dir, photos, texts)
            results.append(report(backend, sims[:len(queries)], names, queries, sims[len(queries):]))
    print("BENCH_JSON " + json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
