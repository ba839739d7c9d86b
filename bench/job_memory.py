"""Memory over a job (issue 12 goal 5): the ingestion side's peak RSS growth while one job ingests `--files`
new files (tiny, distinct; a scripted in-process ML service answers `--dimension`-d vectors), in a fresh
process per size, so a flat line reads as the same growth for every size.

    python bench/job_memory.py --sizes 2000 8000
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import rescan  # noqa: E402  (a sibling module: the tree and the fake ML service)


def one_size(files: int, dimension: int) -> None:
    from sightline.config import IngestSettings
    from sightline.ingest.jobdb import JobStore
    from sightline.ingest.ml_client import MLClient
    from sightline.ingest.model_match import collection_metadata
    from sightline.ingest.pipeline import JobRun
    from sightline.ingest.vectors import CollectionParams, open_store

    model = {**rescan.MODEL, "dimension": dimension}
    result = {**rescan.RESULT, "embedding": [0.5] * dimension}

    async def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/capabilities":
            return httpx.Response(200, json=model)
        return httpx.Response(200, json={"results": [result] * request.content.count(b'name="unique_ids"')})

    with tempfile.TemporaryDirectory() as tmp:
        library = Path(tmp) / "library"
        library.mkdir()
        rescan.make_tree(library, files)
        settings = IngestSettings(data_dir=Path(tmp) / "data", ingest_roots=str(library), ml_url="http://ml")
        vectors, jobdb = open_store(Path(tmp) / "data"), JobStore(Path(tmp) / "data" / "sightline.db")
        vectors.create_collection("photos", CollectionParams(vector_size=dimension,
                                                             metadata=collection_metadata(model)))
        ml = MLClient(["http://ml"], None, retries=0, backoff=0.0, transport=httpx.MockTransport(handle))
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        job = jobdb.create_job("photos", "scan", str(library), {"recursive": True})
        asyncio.run(JobRun(job, jobdb, vectors, ml, settings).run(rescan=True))
        grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
        counts = jobdb.get_job(job.job_id).counts
        print(f"{files} files ({counts.done} embedded, {counts.cached} reused): peak RSS +{grown / 1024:.1f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 8000])
    parser.add_argument("--dimension", type=int, default=512)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one_size(args.one, args.dimension)
        return
    for size in args.sizes:
        subprocess.run([sys.executable, __file__, "--one", str(size), "--dimension", str(args.dimension)],
                       check=True)


if __name__ == "__main__":
    main()
