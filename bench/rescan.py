"""Re-scans against the listing floor (issue 12 goal 4), side by side in one run, in one process:

    python bench/rescan.py --files 20000          # the goal's size (~1-2 min on 2 busy cores)
    python bench/rescan.py --files 2000           # development size

A tree of `--files` tiny `.jpg` files in folders of 200, each already in the collection (its point written
straight into an embedded store with the payload an ingest leaves: EXIF fields, a caption, words; ~1 KiB), then,
each the median of `--repeat` runs:

| figure | what runs |
|---|---|
| `floor` | `os.scandir` + `stat` of every entry, recursively: the least any re-scan must do |
| `scan_job` | an unchanged re-scan as a scan job (`POST /ingest/scan`): every file through the pipeline |
| `sync_job` | an unchanged re-scan as a source's sync job: listing, the stored files read from the job |
| | store's mirror of the vector store (`jobdb.indexed`: a count of each side, one SELECT), the counts |
| `first sync` | the same with no mirror yet (new version, cleared job store): the stored points scrolled |
| | from the vector store, the mirror built from them; run once, before the others |

each with the process's CPU seconds beside (other work on the machine inflates wall seconds),
and one sync after `--changed` files were rewritten: the ML requests it made (changed files are batched after
the unchanged check, so ceil(changed / batch) requests). The ML service is a scripted in-process fake (4-d
vectors): what is measured is the ingestion side alone. Also: the ingestion process's peak RSS growth.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import math
import os
import resource
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from sightline.config import IngestSettings  # noqa: E402
from sightline.imaging.metadata import ImageMetadata  # noqa: E402
from sightline.ingest.jobdb import FileRecord, JobStore  # noqa: E402
from sightline.ingest.ml_client import MLClient  # noqa: E402
from sightline.ingest.model_match import collection_metadata  # noqa: E402
from sightline.ingest.pipeline import JobRun, point_id_for  # noqa: E402
from sightline.ingest.pipeline.payload import build_payload  # noqa: E402
from sightline.ingest.pipeline.work import Embedding, FileWork  # noqa: E402
from sightline.ingest.sources.store import SourceStore  # noqa: E402
from sightline.ingest.vectors import CollectionParams, Point, open_store  # noqa: E402

MODEL = {"backend": "fake", "embedding_model": "fake-clip", "dimension": 4, "caption_kind": "none",
         "max_batch_size": 32}
VECTOR = [1.0, 0.0, 0.0, 0.0]
PROVENANCE = {"embedding_model": "fake-clip", "caption_model": None, "caption_kind": "none", "device": "cpu"}
RESULT = {"embedding": [1.0, 0.0, 0.0, 0.0], "caption": "", "caption_kind": "none", "model_name_clip": "fake-clip",
          "model_name_blip": None, "device_used": "cpu", "error": None}
PER_FOLDER = 200


class FakeML:
    def __init__(self) -> None:
        self.embed_requests = 0

    async def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/capabilities":
            return httpx.Response(200, json=MODEL)
        self.embed_requests += 1
        files = request.content.count(b'name="unique_ids"')
        return httpx.Response(200, json={"results": [RESULT] * files})


def make_tree(root: Path, count: int) -> list[Path]:
    paths = []
    for index in range(count):
        folder = root / f"f{index // PER_FOLDER:04d}"
        folder.mkdir(exist_ok=True)
        path = folder / f"img{index:06d}.jpg"
        path.write_bytes(b"%06d" % index)
        paths.append(path)
    return paths


def stored_point(collection: str, path: Path, index: int) -> Point:
    """The point an ingest leaves for `path`: the full payload of a camera photo with EXIF and a caption."""
    stat, data = path.stat(), path.read_bytes()
    record = FileRecord(str(path), stat.st_size, stat.st_mtime_ns / 1e9, "done", None, None)
    metadata = ImageMetadata("jpeg", 6000, 4000, datetime(2023, 6, 1 + index % 28, 12, 30), "Canon", "Canon EOS R5",
                             "RF24-105mm F4 L IS USM", 48.8566 + index / 1e5, 2.3522, 1).to_payload()
    work = FileWork(record, point_id_for(collection, str(path)), size=stat.st_size, mtime_ns=stat.st_mtime_ns,
                    sha256=hashlib.sha256(data).hexdigest(), metadata=metadata,
                    embedding=Embedding(VECTOR, f"a dog running on a beach at sunset, photo {index}", PROVENANCE))
    return Point(work.point_id, VECTOR, build_payload(work, collection, "bench", datetime.now(timezone.utc),
                                                     roots=[path.parents[1]]))


def fill_store(vectors, collection: str, paths: list[Path]) -> None:
    vectors.create_collection(collection, CollectionParams(vector_size=4, metadata=collection_metadata(MODEL)))
    for start in range(0, len(paths), 1000):
        vectors.upsert(collection, [stored_point(collection, path, start + offset)
                                    for offset, path in enumerate(paths[start:start + 1000])])


def floor(root: Path) -> int:
    stack, seen = [str(root)], 0
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                entry.stat(follow_symlinks=False)
                seen += 1
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
    return seen


async def run_job(jobdb, vectors, settings, ml, collection: str, kind: str, source: str, options: dict) -> dict:
    job = jobdb.create_job(collection, kind, source, options)
    run = JobRun(job, jobdb, vectors, ml, settings)
    await run.run(rescan=True)
    return jobdb.get_job(job.job_id).to_dict()


def timed(function) -> tuple[float, float, object]:
    """Wall seconds, CPU seconds of the process (all its threads), the result."""
    started, cpu = time.perf_counter(), time.process_time()
    result = function()
    return time.perf_counter() - started, time.process_time() - cpu, result


def median_of(repeat: int, function) -> tuple[float, float, object]:
    runs = [timed(function) for _ in range(repeat)]
    return (statistics.median(wall for wall, _, _ in runs), statistics.median(cpu for _, cpu, _ in runs),
            runs[-1][2])


def figure(label: str, wall: float, cpu: float, floor_wall: float, floor_cpu: float) -> str:
    return (f"{label:<27} {wall:.3f}s = {wall / floor_wall:5.1f}x floor   cpu {cpu:.3f}s = "
            f"{cpu / floor_cpu:5.1f}x floor cpu")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--changed", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--store", choices=["process", "inline"], default="process",
                        help="the embedded store in a process of its own (the service's default) or in this one; "
                             "the CPU figures are this process's")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        measure(Path(tmp), args)


def measure(tmp: Path, args: argparse.Namespace) -> None:
    library = tmp / "library"
    library.mkdir()
    paths = make_tree(library, args.files)
    settings = IngestSettings(data_dir=tmp / "data", ingest_roots=str(library), ml_url="http://ml",
                              source_settle_seconds=0.001)  # the rewritten files are read at once
    vectors = open_store(tmp / "data", own_process=args.store == "process")
    jobdb, fake = JobStore(tmp / "data" / "sightline.db"), FakeML()
    ml = MLClient(["http://ml"], None, retries=0, backoff=0.0, transport=httpx.MockTransport(fake.handle))
    fill_store(vectors, "photos", paths)
    source = SourceStore(jobdb).add("photos", str(library), watch=False, exclude=[], rescan_minutes=0)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    def job(kind: str) -> dict:
        options = {"source_id": source.source_id} if kind == "sync" else {"recursive": True}
        return asyncio.run(run_job(jobdb, vectors, settings, ml, "photos", kind, str(library), options))

    first_s, first_cpu, first = timed(lambda: job("sync"))
    floor_s, floor_cpu, listed = median_of(args.repeat, lambda: floor(library))
    sync_s, sync_cpu, sync = median_of(args.repeat, lambda: job("sync"))
    scan_s, scan_cpu, scan = median_of(args.repeat, lambda: job("scan"))
    for path in paths[:: max(1, len(paths) // args.changed)][: args.changed]:
        path.write_bytes(path.read_bytes() + b"changed")
    fake.embed_requests = 0
    changed_s, _, changed = timed(lambda: job("sync"))
    rss_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    print(f"files: {args.files} (+ {listed - args.files} folders), store {args.store}, repeat {args.repeat}, "
          "median seconds; "
          f"load average {' '.join(f'{load:.2f}' for load in os.getloadavg())} on {os.cpu_count()} cores")
    print(f"floor (os.scandir + stat):  {floor_s:.3f}s   cpu {floor_cpu:.3f}s")
    print(figure("sync job, unchanged:", sync_s, sync_cpu, floor_s, floor_cpu) + f"  (skipped "
          f"{sync['counts']['skipped']})")
    print(figure("first sync (no mirror):", first_s, first_cpu, floor_s, floor_cpu) + f"  (skipped "
          f"{first['counts']['skipped']})")
    print(figure("scan job, unchanged:", scan_s, scan_cpu, floor_s, floor_cpu) + f"  (skipped "
          f"{scan['counts']['skipped']})")
    print(f"sync job, {args.changed} changed:       {changed_s:.3f}s, done {changed['counts']['done']}, "
          f"{fake.embed_requests} ML embed requests (batch {MODEL['max_batch_size']}: at least "
          f"{math.ceil(args.changed / MODEL['max_batch_size'])})")
    print(f"peak RSS growth over the runs: {rss_growth / 1024:.1f} MiB")
    jobdb.close()
    vectors.close()


if __name__ == "__main__":
    main()
