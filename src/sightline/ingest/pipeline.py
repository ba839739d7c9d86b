"""The ingestion pipeline: scan → fingerprint → (skip | reuse | embed) → upsert, batches in flight.

Every file's outcome is written to the job store only after its point is stored, so a killed process
resumes from the job store with nothing lost, and stable point ids mean nothing is duplicated.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_ISREG
from typing import Any

from sightline.config import IngestSettings
from sightline.errors import RETRIABLE_CODES, ErrorCode, SightlineError, utc_now
from sightline.imaging import read_metadata
from sightline.ingest.jobdb import FileRecord, Job, JobStore
from sightline.ingest.ml_client import MLClient, MLError
from sightline.ingest.paths import ScanReport, scan_folder
from sightline.ingest.vectors import Point, SearchFilters, VectorStore

log = logging.getLogger("sightline.pipeline")
POINT_NAMESPACE = uuid.UUID("6f1c2b8e-3d4a-5e6f-8a9b-0c1d2e3f4a5b")
MAX_BATCH = 32


def point_id_for(collection: str, path: str) -> str:
    """Stable per (collection, file path): re-ingesting updates the same point, never duplicates it."""
    return str(uuid.uuid5(POINT_NAMESPACE, f"{collection}\x00{path}"))


def model_signature(capabilities: dict[str, Any]) -> dict[str, Any]:
    return {
        "backend": capabilities["backend"],
        "embedding_model": capabilities["embedding_model"],
        "dimension": capabilities["dimension"],
    }


def check_model_matches(collection: str, metadata: dict[str, Any], capabilities: dict[str, Any]) -> None:
    expected = {key: metadata.get(key) for key in ("backend", "embedding_model", "dimension")}
    actual = model_signature(capabilities)
    if all(value is None for value in expected.values()):
        return  # made outside Sightline: only the dimension can be checked, by the store on upsert
    if expected != actual:
        raise SightlineError(
            ErrorCode.MODEL_MISMATCH,
            f"Collection {collection!r} was built with {expected['embedding_model']} "
            f"({expected['backend']}, {expected['dimension']}-d) but the ML service runs "
            f"{actual['embedding_model']} ({actual['backend']}, {actual['dimension']}-d). "
            "Ingest into a new collection, or run the ML service with the collection's model.",
            where="collection",
            status=409,
        )


@dataclass
class FileWork:
    record: FileRecord
    point_id: str
    state: str = "pending"  # → done | cached | skipped | failed
    data: bytes | None = None
    size: int | None = None
    mtime_ns: int | None = None  # integer: payload floats do not round-trip exactly
    sha256: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    vector: list[float] | None = None
    caption: str | None = None
    ml: dict[str, Any] = field(default_factory=dict)
    reuse_of: "FileWork | None" = None  # identical content earlier in the same batch
    error: tuple[str, str, str, bool] | None = None  # stage, code, message, retriable

    def fail(self, stage: str, code: str, message: str, retriable: bool | None = None) -> None:
        self.state = "failed"
        self.error = (stage, code, message, code in RETRIABLE_CODES if retriable is None else retriable)
        self.data = None


class JobRun:
    """One run of one job, from its pending files to a terminal state."""

    def __init__(self, job: Job, jobs: JobStore, store: VectorStore, ml: MLClient, settings: IngestSettings):
        self.job = job
        self.jobs = jobs
        self.store = store
        self.ml = ml
        self.settings = settings
        self.cancel_requested = False
        self.fatal: SightlineError | None = None
        self.content_cache: dict[str, tuple[list[float], str | None, dict[str, Any]]] = {}
        self.capabilities: dict[str, Any] = {}

    @property
    def job_id(self) -> str:
        return self.job.job_id

    async def log(self, message: str, level: str = "info") -> None:
        await asyncio.to_thread(self.jobs.log, self.job_id, message, level)

    async def run(self, rescan: bool) -> None:
        await asyncio.to_thread(self.jobs.set_state, self.job_id, "running")
        try:
            await self._prepare_run(rescan)
            await self._process_pending()
        except SightlineError as exc:
            self.fatal = exc
        except Exception as exc:  # never leave a job "running" behind a bug
            log.exception("job %s crashed", self.job_id)
            self.fatal = SightlineError(ErrorCode.INTERNAL_ERROR, f"Unexpected error: {type(exc).__name__}: {exc}")
        await self._finish()

    async def _prepare_run(self, rescan: bool) -> None:
        self.capabilities = await self.ml.capabilities()
        info = await asyncio.to_thread(self.store.collection_info, self.job.collection)
        check_model_matches(self.job.collection, info.params.metadata, self.capabilities)
        if self.job.kind == "scan" and rescan:
            await self._scan()

    async def _scan(self) -> None:
        folder = Path(self.job.source)
        recursive = bool(self.job.options.get("recursive", True))
        await self.log(f"scanning {folder}{' recursively' if recursive else ''}")
        report = ScanReport()
        entries = await asyncio.to_thread(
            lambda: list(scan_folder(folder, self.settings.roots, recursive=recursive, report=report))
        )
        added = await asyncio.to_thread(self.jobs.add_files, self.job_id, entries)
        await self.log(
            f"found {len(entries)} image files ({added} new to this job); ignored {report.ignored} non-image, "
            f"{report.hidden} hidden"
        )
        for path in report.outside:
            await self.log(f"skipped {path}: its link leads outside the ingest roots", "warning")
        if report.unreadable:
            errors = [(path, "scan", ErrorCode.FILE_UNREADABLE, f"cannot list folder: {why}", True)
                      for path, why in report.unreadable]
            await asyncio.to_thread(self.jobs.record_errors, self.job_id, errors)

    def batch_size(self) -> int:
        configured = self.settings.ml_batch_size or MAX_BATCH
        return max(1, min(configured, int(self.capabilities.get("max_batch_size", configured))))

    async def _process_pending(self) -> None:
        pending = await asyncio.to_thread(self.jobs.pending_files, self.job_id)
        if not pending:
            return
        size = self.batch_size()
        await self.log(f"{len(pending)} files to process in batches of {size}")
        slots = asyncio.Semaphore(self.settings.batches_in_flight)
        in_flight: set[asyncio.Task] = set()
        for start in range(0, len(pending), size):
            await slots.acquire()
            if self.cancel_requested or self.fatal:
                slots.release()
                break
            works = await asyncio.to_thread(self._fingerprint, pending[start : start + size])
            task = asyncio.create_task(self._complete_batch(works, start // size + 1))
            task.add_done_callback(lambda _: slots.release())
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        if in_flight:
            await asyncio.gather(*in_flight)

    # --- fingerprint stage (worker thread) -------------------------------------------------------------

    def _fingerprint(self, records: list[FileRecord]) -> list[FileWork]:
        works = [FileWork(record, point_id_for(self.job.collection, record.path)) for record in records]
        for work in works:
            self._stat(work)
        self._mark_unchanged(works)
        by_content: dict[str, FileWork] = {}
        for work in works:
            if work.state == "pending":
                self._read(work)
            if work.state == "pending":
                self._find_same_content(work, by_content)
        return works

    def _stat(self, work: FileWork) -> None:
        try:
            stat = os.stat(work.record.path)
        except OSError as exc:
            work.fail("read", ErrorCode.FILE_UNREADABLE, f"cannot read the file: {exc.strerror or exc}")
            return
        work.size, work.mtime_ns = stat.st_size, stat.st_mtime_ns
        if not S_ISREG(stat.st_mode):  # a FIFO or device would block or stream forever
            work.fail("read", ErrorCode.FILE_UNREADABLE, "not a regular file")
        elif stat.st_size == 0:
            work.fail("read", ErrorCode.FILE_EMPTY, "the file is empty (0 bytes)")
        elif stat.st_size > self.settings.max_upload_bytes:
            work.fail("read", ErrorCode.FILE_TOO_LARGE,
                      f"the file has {stat.st_size} bytes; the limit is {self.settings.max_upload_bytes}")

    def _mark_unchanged(self, works: list[FileWork]) -> None:
        candidates = {work.point_id: work for work in works if work.state == "pending"}
        if not candidates:
            return
        signature = model_signature(self.capabilities)
        for point in self.store.retrieve(self.job.collection, list(candidates)):
            work = candidates[point.id]
            payload = point.payload
            if (
                payload.get("bytes") == work.size
                and payload.get("mtime_ns") == work.mtime_ns
                and payload.get("embedding_model") == signature["embedding_model"]
            ):
                work.state = "skipped"
                work.sha256 = payload.get("sha256")

    def _read(self, work: FileWork) -> None:
        try:
            with open(work.record.path, "rb") as handle:
                work.data = handle.read(self.settings.max_upload_bytes + 1)
        except OSError as exc:
            work.fail("read", ErrorCode.FILE_UNREADABLE, f"cannot read the file: {exc.strerror or exc}")
            return
        if not work.data:
            work.fail("read", ErrorCode.FILE_EMPTY, "the file is empty (0 bytes)")
            return
        work.sha256 = hashlib.sha256(work.data).hexdigest()
        work.metadata = read_metadata(work.data).to_payload()

    def _find_same_content(self, work: FileWork, by_content: dict[str, FileWork]) -> None:
        assert work.sha256 is not None
        if work.sha256 in by_content:
            work.reuse_of = by_content[work.sha256]
            work.data = None
            return
        known = self.content_cache.get(work.sha256) or self._stored_content(work)
        if known is not None:
            work.vector, work.caption, work.ml = known
            work.state = "cached"
            work.data = None
            return
        by_content[work.sha256] = work

    def _stored_content(self, work: FileWork) -> tuple[list[float], str | None, dict[str, Any]] | None:
        points, _ = self.store.scroll(
            self.job.collection, limit=1, filters=SearchFilters(sha256=work.sha256), with_vectors=True
        )
        if not points or points[0].vector is None:
            return None
        payload = points[0].payload
        if payload.get("embedding_model") != self.capabilities["embedding_model"]:
            return None
        return points[0].vector, payload.get("caption"), _ml_fields(payload)

    async def _log_retry(self, message: str) -> None:
        await self.log(message, "warning")

    # --- embed + store stage ------------------------------------------------------------------------------

    async def _complete_batch(self, works: list[FileWork], number: int) -> None:
        started = time.perf_counter()
        to_embed = [w for w in works if w.state == "pending" and w.reuse_of is None]
        if to_embed and not self.fatal:
            await self._embed(to_embed)
        for work in works:
            if work.reuse_of is not None:
                self._copy_result(work)
        await self._store(works)
        await self._record(works)
        tally = Counter(work.state for work in works)
        summary = ", ".join(f"{count} {state}" for state, count in sorted(tally.items()))
        await self.log(f"batch {number}: {len(works)} files ({summary}) in {time.perf_counter() - started:.2f}s")

    async def _embed(self, works: list[FileWork]) -> None:
        files = [(w.point_id, os.path.basename(w.record.path), w.data or b"") for w in works]
        try:
            results = await self.ml.embed_files(
                files, caption=bool(self.job.options.get("caption", True)), on_retry=self._log_retry
            )
        except MLError as exc:
            self.fatal = self.fatal or exc
            for work in works:
                work.fail("embed", exc.code, exc.message, retriable=exc.code != ErrorCode.ML_UNAUTHORIZED)
            return
        for work, result in zip(works, results):
            work.data = None
            error = result.get("error")
            if error:
                code = error.get("code", ErrorCode.ML_ITEM_FAILED)
                work.fail("decode", code, error.get("message", "the ML service could not process it"),
                          retriable=code == ErrorCode.ML_ITEM_FAILED)
                continue
            work.vector = result["embedding"]
            work.caption = result.get("caption")
            work.ml = _ml_fields(result)
            work.state = "done"
            self.content_cache[work.sha256] = (work.vector, work.caption, work.ml)

    def _copy_result(self, work: FileWork) -> None:
        source = work.reuse_of
        assert source is not None
        if source.state in ("done", "cached"):
            work.vector, work.caption, work.ml = source.vector, source.caption, source.ml
            work.state = "cached"
        elif source.error is not None:
            work.fail(*source.error)

    async def _store(self, works: list[FileWork]) -> None:
        ready = [w for w in works if w.state in ("done", "cached")]
        if not ready:
            return
        points = [Point(w.point_id, w.vector, self._payload(w)) for w in ready]
        try:
            await asyncio.to_thread(self.store.upsert, self.job.collection, points)
        except SightlineError as exc:
            for work in ready:
                work.fail("store", ErrorCode.STORE_FAILED, f"could not store the point: {exc.message}", True)

    async def _record(self, works: list[FileWork]) -> None:
        updates = [(w.record.path, w.state, w.point_id if w.state != "failed" else None, w.sha256)
                   for w in works if w.state != "pending"]
        errors = [(w.record.path, *w.error) for w in works if w.error is not None]
        if errors:
            await asyncio.to_thread(self.jobs.record_errors, self.job_id, errors)
        await asyncio.to_thread(self.jobs.mark_files, self.job_id, updates)

    def _payload(self, work: FileWork) -> dict[str, Any]:
        path = Path(work.record.path)
        folder = path.parent
        meta = work.metadata
        camera = " ".join(part for part in (meta.get("camera_make"), meta.get("camera_model")) if part) or None
        return {
            **meta,
            "path": str(path),
            "folder": str(folder),
            "folder_prefixes": [str(folder), *(str(parent) for parent in folder.parents)],
            "filename": path.name,
            "bytes": work.size,
            "mtime_ns": work.mtime_ns,
            "sha256": work.sha256,
            "camera": camera,
            "caption": work.caption,
            **work.ml,
            "collection": self.job.collection,
            "job_id": self.job_id,
            "ingested_at": utc_now().isoformat(),
        }

    # --- end of the run -----------------------------------------------------------------------------------

    async def _finish(self) -> None:
        counts = await asyncio.to_thread(self.jobs.counts, self.job_id)
        if self.fatal is not None:
            error = {"code": str(self.fatal.code), "message": self.fatal.message}
            await self.log(f"job failed: {self.fatal.code}: {self.fatal.message}", "error")
            await asyncio.to_thread(self.jobs.set_state, self.job_id, "failed", error=error)
            return
        if self.cancel_requested:
            await self.log(f"cancelled with {counts.pending} files not processed", "warning")
            await asyncio.to_thread(self.jobs.set_state, self.job_id, "cancelled")
            return
        stored = counts.done + counts.cached + counts.skipped
        if counts.failed and not stored:
            error = {"code": "ALL_FILES_FAILED", "message": f"all {counts.failed} files failed; see the errors"}
            state = "failed"
        else:
            error, state = None, "completed_with_errors" if counts.failed else "completed"
        await self.log(
            f"finished: {counts.done} embedded, {counts.cached} reused, {counts.skipped} unchanged, "
            f"{counts.failed} failed"
        )
        await asyncio.to_thread(self.jobs.set_state, self.job_id, state, error=error)


def _ml_fields(source: dict[str, Any]) -> dict[str, Any]:
    """The model provenance carried into each payload, from an ML result or an earlier payload."""
    return {
        "embedding_model": source.get("model_name_clip") or source.get("embedding_model"),
        "caption_model": source.get("model_name_blip") or source.get("caption_model"),
        "caption_kind": source.get("caption_kind"),
        "device": source.get("device_used") or source.get("device"),
    }


class JobRunner:
    """Runs queued jobs one after another in the background; resumes unfinished ones at start-up."""

    def __init__(self, jobs: JobStore, store: VectorStore, ml: MLClient, settings: IngestSettings):
        self.jobs = jobs
        self.store = store
        self.ml = ml
        self.settings = settings
        self.queue: asyncio.Queue[tuple[str, bool]] = asyncio.Queue()
        self.current: JobRun | None = None
        self._worker: asyncio.Task | None = None

    async def start(self) -> None:
        resumed = await asyncio.to_thread(self.jobs.mark_interrupted_running_as_queued)
        for job in await asyncio.to_thread(self.jobs.unfinished_jobs):
            self.queue.put_nowait((job.job_id, True))
        if resumed:
            log.info("resuming %d interrupted job(s)", resumed)
        self._worker = asyncio.create_task(self._work())

    async def stop(self) -> None:
        if self.current is not None:
            self.current.cancel_requested = True
        if self._worker is not None:
            self._worker.cancel()
            try:
                await self._worker
            except (asyncio.CancelledError, Exception):
                pass

    def enqueue(self, job_id: str, rescan: bool = True) -> None:
        self.queue.put_nowait((job_id, rescan))

    async def cancel(self, job_id: str) -> bool:
        """Stops a running job after its batches in flight, or a queued one at once."""
        if self.current is not None and self.current.job_id == job_id:
            self.current.cancel_requested = True
            await asyncio.to_thread(self.jobs.log, job_id, "cancel requested; finishing batches in flight", "warning")
            return True
        job = await asyncio.to_thread(self.jobs.get_job, job_id)
        if job is not None and job.state == "queued":
            await asyncio.to_thread(self.jobs.set_state, job_id, "cancelled")
            await asyncio.to_thread(self.jobs.log, job_id, "cancelled before it started", "warning")
            return True
        return False

    async def _work(self) -> None:
        while True:
            job_id, rescan = await self.queue.get()
            job = await asyncio.to_thread(self.jobs.get_job, job_id)
            if job is None or job.state != "queued":
                continue
            self.current = JobRun(job, self.jobs, self.store, self.ml, self.settings)
            try:
                await self.current.run(rescan)
            except Exception:  # e.g. its collection and records were deleted under it
                log.exception("job %s ended abnormally", job_id)
            finally:
                self.current = None
