"""Stage 3, the writer: upsert the batch's points, then record every file's outcome in the job store (and what
the store now holds per file, `jobdb.indexed`: a sync reads it instead of scrolling the store).

The outcome is recorded only after the point is stored, so a killed process resumes from the job store with
nothing lost, and stable point ids mean nothing is duplicated.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sightline.errors import ErrorCode, SightlineError, utc_now
from sightline.ingest.jobdb import JobStore
from sightline.ingest.jobdb.indexed import IndexedFiles
from sightline.ingest.pipeline.patience import Persist, patiently
from sightline.ingest.pipeline.payload import build_payload
from sightline.ingest.pipeline.work import FileWork
from sightline.ingest.vectors import Point, VectorStore

STORED_STATES = ("done", "cached", "skipped")  # the file's point is in the store, as the file is now


async def store_points(
    vectors: VectorStore, collection: str, job_id: str, works: list[FileWork], persist: Persist = patiently,
    roots: Sequence[Path] = (),
) -> None:
    """Upsert the ready files' points; `roots` are the ingest roots (a folder's words start below them)."""
    ready = [work for work in works if work.ready]
    if not ready:
        return
    now = utc_now()
    points = [Point(work.point_id, work.embedding.vector, build_payload(work, collection, job_id, now, roots=roots))
              for work in ready if work.embedding is not None]
    try:
        await persist(vectors.upsert, collection, points)  # waits for space on a full disk
    except SightlineError as exc:
        code = ErrorCode.DISK_FULL if exc.code == ErrorCode.DISK_FULL else ErrorCode.STORE_FAILED
        for work in ready:
            work.fail("store", code, f"could not store the point: {exc.message}")


async def record_outcomes(jobdb: JobStore, job_id: str, works: list[FileWork], persist: Persist = patiently) -> None:
    updates = [(work.record.path, work.state, None if work.state == "failed" else work.point_id, work.sha256)
               for work in works if work.state != "pending"]
    errors = [(work.record.path, *work.error) for work in works if work.error is not None]
    if errors:
        await persist(jobdb.record_errors, job_id, errors)
    await persist(jobdb.mark_files, job_id, updates)
    stored = [(work.record.path, work.size, work.mtime_ns, work.point_id, work.sha256)
              for work in works if work.state in STORED_STATES]
    if stored:
        await persist(IndexedFiles(jobdb).record, job_id, stored)
