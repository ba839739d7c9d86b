"""Hybrid search quality (issue 14): vector-only, words-only and hybrid on a library laid out like a real one.

    python bench/hybrid_quality.py [--backends lite,tiny] [--cache-dir DIR] [--strict]

For each backend: the real photos of bench/quality.py saved under the folders and camera-style names of
bench/hybrid_library.json (with their EXIF camera and date), the ML service started in a subprocess
(bench/common.py), the ingestion service in this process (so the bench can also run the two halves of a
search on their own), a scan job through the HTTP API. Then every query of four kinds (visual: the queries
of bench/quality_queries.json; names; facts; mixed) is ranked by

- ``vector``: the vector search of the whole query (the search box before issue 14);
- ``words``: the store's word search of the query's tokens alone;
- ``hybrid``: `sightline.ingest.hybrid.search_text`, what the search API runs (a blend of similarity and the
  share of the query's words a photo holds, see `hybrid.rank`);
- ``rrf``: the same candidates and facts fused by reciprocal rank (k=60), the alternative the issue asks to
  measure.

Prints recall@1, recall@3 and MRR per mode and kind, the visual queries that hybrid ranks worse than vector,
and one ``BENCH_JSON`` line. And the strong matches of hybrid, as the search API marks them (`scored_page`; a
query of facts alone: every photo it lists): per kind, photos a query shows as strong, recall (the expected photo
is strong) and precision; and for PROBES, the walk-through's kinds of query (a file name with its extension, a
camera file name no photo has, a year), the strong photos each shows.

Goal (lite): hybrid >= the better of vector and words on every kind, recall@3 >= 0.95 overall, no visual query
worse than vector. ``--strict`` exits 1 when lite misses one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import common  # bench/common.py (puts the repository root on sys.path)
import quality  # bench/quality.py: PHOTOS, package_file, metrics

LIBRARY_FILE = Path(__file__).resolve().parent / "hybrid_library.json"
MODES = ("vector", "words", "hybrid", "rrf")
RRF_K = 60
KINDS = ("visual", "names", "facts", "mixed")
TARGET_R3 = 0.95
# the walk-through's queries on this library (written before measuring): text → the photos that should be strong
PROBES = [("guitar.jpg", ["guitar"]), ("IMG_4411.JPG", ["present"]), ("DSC_0100", ["fighter_fish"]),
          ("IMG_0022", []), ("DSC_9999", []), ("xyzzy qwerty", []), ("2019", ["china", "coffee", "brick"]),
          # added with the second walk-through: another camera's file of the same number (`scan_0001.jpg` holds
          # `0001`), and a raw extension typed as a word (`cr2` held the number 2 of `scan_0002.png`)
          ("DSC_0001", ["camera"]), ("cr2", []),
          # the third walk-through's `dogs at home`: a word naming a folder made the folder's photos strong, a
          # daisy first, above what the rest of the query is about; a folder word alone finds its folder
          ("a dog in the garden", ["puppy"]), ("fish trips", ["fighter_fish", "gold_fish"]),
          ("a cat in the aquarium", ["black_cat", "chelsea"]), ("camping", ["sunrise", "tent"])]


def save_library(root: Path, layout: dict[str, Any]) -> None:
    """Every photo of PHOTOS at its library path, JPEG/PNG/WebP by its extension, with its EXIF."""
    from PIL import Image

    from tests.samples import exif_bytes

    formats = {".jpg": "JPEG", ".png": "PNG", ".webp": "WEBP"}
    for photo in quality.PHOTOS:
        entry = layout[photo.name]
        target = root / entry["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        with Image.open(quality.package_file(photo.package, photo.relpath)) as source:
            image = source.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", image.size, "white"), image).convert("RGB")
        options: dict[str, Any] = {"JPEG": {"quality": 92}, "WEBP": {"quality": 90}, "PNG": {}}[
            formats[target.suffix.lower()]]
        if entry["camera"]:
            make, model = entry["camera"]
            options["exif"] = exif_bytes(make=make, model=model, taken_at=datetime.fromisoformat(entry["taken"]),
                                         lens=None, gps=None)
        image.save(target, formats[target.suffix.lower()], **options)


def load_queries(layout: dict[str, Any]) -> list[dict[str, Any]]:
    """The visual queries of bench/quality_queries.json, then the library's own; each expects known photos."""
    queries = [{**query, "kind": "visual"} for query in quality.load_queries()]
    queries += json.loads(LIBRARY_FILE.read_text())["queries"]
    for query in queries:
        unknown = [name for name in query["expected"] if name not in layout]
        if unknown or query["kind"] not in KINDS:
            raise SystemExit(f"{LIBRARY_FILE.name}: {query['text']!r}: unknown photos {unknown} or kind")
    return queries


async def rankings(services: Any, info: Any, text: str, n: int) -> tuple[dict[str, list[str]], list[str]]:
    """The ranked point paths of every mode for one query, and the paths hybrid shows as strong matches."""
    from sightline.ingest import fact_listing, hybrid
    from sightline.ingest.understand import understand
    from sightline.ingest.words import tokens

    collection = info.name
    vector = await hybrid.query_vector(services, info, text)
    plain = await services.call(services.vectors.search, collection, vector, limit=n)
    words = await fact_listing.word_hits(services, collection, tokens(text), n, None)
    fused = await hybrid.search_text(services, collection, info, text, filters=None, limit=n)
    cameras = [name for name, _ in await services.call(services.vectors.facet, collection, "camera", 500)]
    understanding = understand(text, cameras)
    found = await hybrid.candidates(services, collection, info, understanding, text, None, n)
    return {
        "vector": [hit.payload["path"] for hit in plain],
        "words": [hit.payload["path"] for hit in words],
        "hybrid": [hit.payload["path"] for hit in fused.hits],
        "rrf": [found.payloads[i]["path"] for i in rrf(found) if understanding.holds(found.payloads[i])],
    }, strong_paths(info, fused)


def strong_paths(info: Any, fused: Any) -> list[str]:
    """The hits the search API shows as strong matches (of a facts-only listing: every one)."""
    from sightline.ingest.api.search import scored_page

    if fused.only_facts:
        return [hit.payload["path"] for hit in fused.hits]
    page = scored_page(info, "text", fused.hits, len(fused.hits), None, whole_best=fused.best)
    return [hit["payload"]["path"] for hit in page["results"] if not hit["weak"]]


def strong_table(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """kind (and "all") → strong photos a query, recall (an expected photo is strong), precision."""
    out = {}
    for kind in (*KINDS, "all"):
        chosen = [row for row in rows if kind in ("all", row["kind"])]
        shown = sum(len(row["strong"]) for row in chosen)
        right = sum(len(set(row["strong"]) & set(row["expected"])) for row in chosen)
        out[kind] = {"n": len(chosen), "strong_per_query": shown / len(chosen),
                     "recall": sum(bool(set(row["strong"]) & set(row["expected"])) for row in chosen) / len(chosen),
                     "precision": right / shown if shown else None}
    return out


def rrf(found: Any, k: int = RRF_K) -> list[str]:
    """Reciprocal rank fusion of the vector and word rankings: each gives an id 1 / (k + rank)."""
    score: dict[str, float] = {}
    for ranking in (found.vector, found.words):
        for position, point_id in enumerate(ranking, start=1):
            score[point_id] = score.get(point_id, 0.0) + 1 / (k + position)
    return sorted(score, key=lambda point_id: -score[point_id])


async def run_backend(backend: str, root: Path, layout: dict[str, Any], queries: list[dict[str, Any]],
                      cache_dir: Path, work_dir: Path) -> dict[str, Any]:
    import httpx

    from sightline.config import IngestSettings
    from sightline.ingest.app import create_app

    by_path = {str(root / entry["path"]): name for name, entry in layout.items()}
    run_dir = work_dir / f"run-{backend}"
    with common.start_ml(backend, cache_dir / "ml-data", run_dir) as ml:
        settings = IngestSettings(ml_url=ml.url, api_key=common.BENCH_API_KEY, data_dir=work_dir / f"data-{backend}",
                                  ingest_roots=str(root))
        app = create_app(settings)
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://localhost",
                headers=common.auth_headers(), timeout=600) as api:
            (await api.post("/api/v1/collections", json={"name": "library"})).raise_for_status()
            job = (await api.post("/api/v1/ingest/scan", json={"collection": "library",
                                                               "directory_path": str(root)})).json()
            await api.get(f"/api/v1/jobs/{job['job_id']}/events")  # the stream ends when the job does
            counts = (await api.get(f"/api/v1/jobs/{job['job_id']}")).json()["counts"]
            common.log(f"{backend}: ingested {counts}")
            services = app.state.services
            info = await services.call(services.vectors.collection_info, "library")
            rows, probes = [], []
            for query in queries:
                ranked, strong = await rankings(services, info, query["text"], len(layout))
                ranks = {mode: quality.first_hit_rank([by_path.get(p, "?") for p in paths], query["expected"])
                         for mode, paths in ranked.items()}
                rows.append({**query, "ranks": ranks, "top3": {mode: [by_path.get(p, "?") for p in paths[:3]]
                                                               for mode, paths in ranked.items()},
                             "strong": [by_path.get(p, "?") for p in strong]})
            for text, expected in PROBES:
                _, strong = await rankings(services, info, text, len(layout))
                probes.append({"text": text, "expected": expected, "strong": [by_path.get(p, "?") for p in strong]})
    return {"backend": backend, "counts": counts, "rows": rows, "table": table(rows), "strong": strong_table(rows),
            "probes": probes}


def table(rows: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """mode → kind (and "all") → recall@1, recall@3, MRR."""
    return {mode: {kind: quality.metrics([row["ranks"][mode] for row in rows if kind in ("all", row["kind"])])
                   for kind in (*KINDS, "all")} for mode in MODES}


def worse_than_vector(result: dict[str, Any], mode: str = "hybrid") -> list[dict[str, Any]]:
    def worse(row: dict[str, Any]) -> bool:
        fused, plain = row["ranks"][mode], row["ranks"]["vector"]
        return plain is not None and (fused is None or fused > plain)
    return [row for row in result["rows"] if row["kind"] == "visual" and worse(row)]


def goals(result: dict[str, Any]) -> dict[str, bool]:
    t = result["table"]
    best_of_two = all(t["hybrid"][k]["mrr"] >= max(t["vector"][k]["mrr"], t["words"][k]["mrr"]) - 1e-9
                      for k in KINDS)
    return {"hybrid_at_least_best_of_two_mrr": best_of_two,
            "recall_at_3_overall": t["hybrid"]["all"]["recall_at_3"] >= TARGET_R3,
            "no_visual_query_worse": not worse_than_vector(result)}


def summary(results: list[dict[str, Any]]) -> list[str]:
    lines = []
    for result in results:
        lines.append(f"{result['backend']}: {result['counts'].get('done')} photos ingested")
        lines.append(f"  {'mode':7} " + "  ".join(f"{kind + ' (' + str(result['table']['vector'][kind]['n']) + ')':>19}"
                                               for kind in (*KINDS, "all")))
        lines.append(f"  {'':7} " + "  ".join(f"{'R@1  R@3  MRR':>19}" for _ in (*KINDS, "all")))
        for mode in MODES:
            cells = [result["table"][mode][kind] for kind in (*KINDS, "all")]
            lines.append(f"  {mode:7} " + "  ".join(
                f"{quality.fmt(c['recall_at_1']):>7}{quality.fmt(c['recall_at_3']):>6}{quality.fmt(c['mrr']):>6}"
                for c in cells) + f"   visual worse than vector: {len(worse_than_vector(result, mode))}")
        for row in worse_than_vector(result):
            lines.append(f"  visual query worse with hybrid: {row['text']!r} vector rank {row['ranks']['vector']}, "
                         f"hybrid {row['ranks']['hybrid']} (top-3 {row['top3']['hybrid']})")
        for row in result["rows"] if result["backend"] == "lite" else []:
            if row["ranks"]["hybrid"] is None or row["ranks"]["hybrid"] > 3:
                lines.append(f"  hybrid miss@3: [{row['kind']}] {row['text']!r} rank {row['ranks']['hybrid']} "
                             f"(top-3 {row['top3']['hybrid']}; vector {row['ranks']['vector']}, "
                             f"words {row['ranks']['words']})")
        lines.append(f"  goals: {goals(result)}")
        lines.extend(strong_lines(result))
        lines.append("")
    return lines


def strong_lines(result: dict[str, Any]) -> list[str]:
    lines = ["  hybrid strong matches   " + "  ".join(f"{kind:>19}" for kind in (*KINDS, "all")),
             "  strong/query recall precision: " + "  ".join(
                 f"{c['strong_per_query']:6.2f}{quality.fmt(c['recall']):>6}{quality.fmt(c['precision']):>6}"
                 for c in (result["strong"][kind] for kind in (*KINDS, "all")))]
    for row in result["rows"]:
        if row["kind"] != "visual" and not set(row["strong"]) & set(row["expected"]):
            lines.append(f"  no expected photo strong: [{row['kind']}] {row['text']!r} (strong {row['strong']})")
    for probe in result["probes"]:
        lines.append(f"  probe {probe['text']!r}: {len(probe['strong'])} strong {sorted(probe['strong'])[:6]} "
                     f"(expected {probe['expected']})")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="lite,tiny")
    parser.add_argument("--cache-dir", type=Path, default=common.DEFAULT_CACHE_DIR)
    parser.add_argument("--strict", action="store_true", help="exit 1 when lite misses a goal")
    args = parser.parse_args(argv)
    layout = json.loads(LIBRARY_FILE.read_text())["photos"]
    work_dir = Path(tempfile.mkdtemp(prefix="sightline-hybrid-"))
    try:
        root = work_dir / "library"
        save_library(root, layout)
        queries = load_queries(layout)
        results = []
        for backend in (name.strip() for name in args.backends.split(",") if name.strip()):
            available, why = common.backend_status(backend)
            if not available:
                common.log(f"{backend}: {why}")
                continue
            results.append(asyncio.run(run_backend(backend, root, layout, queries, args.cache_dir, work_dir)))
        figures = {"machine": common.machine_info(), "queries": len(queries),
                   "backends": {r["backend"]: {"table": r["table"], "goals": goals(r), "strong": r["strong"],
                                               "probes": {probe["text"]: probe["strong"] for probe in r["probes"]},
                                               "ranks": {row["text"]: row["ranks"] for row in r["rows"]}}
                                for r in results}}
        common.emit("hybrid_quality", figures, summary(results))
        lite = next((r for r in results if r["backend"] == "lite"), None)
        return 1 if args.strict and (lite is None or not all(goals(lite).values())) else 0
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sys.path.insert(0, str(common.REPO_ROOT / "src"))
    sys.exit(main())
