"""`JobRun`: one run of one job through the stages, from its pending files to a terminal state.

scan (scan jobs) → per batch: fingerprint (worker thread) → embed → store → record; up to
`batches_in_flight` batches at once. Any error that is not one file's ends the run as "failed".
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from typing import Any

from sightline.config import IngestSettings
from sightline.errors import ErrorCode, SightlineError
from sightline.ingest.jobdb import FileRecord, Job, JobStore
from sightline.ingest.ml_client import MLClient
from sightline.ingest.model_match import check_model_matches
from sightline.ingest.pipeline.embed import copy_to_same_content, embed
from sightline.ingest.pipeline.fingerprint import Fingerprinter
from sightline.ingest.pipeline.scan import scan_into_job
from sightline.ingest.pipeline.work import Embedding, FileWork
from sightline.ingest.pipeline.write import record_outcomes, store_points
from sightline.ingest.vectors import VectorStore

logger = logging.getLogger("sightline.pipeline")
MAX_BATCH = 32


class JobRun:
    def __init__(self, job: Job, jobdb: JobStore, vectors: VectorStore, ml: MLClient, settings: IngestSettings):
        self.job = job
        self.jobdb = jobdb
        self.vectors = vectors
        self.ml = ml
        self.settings = settings
        self.cancel_requested = False
        self.fatal: SightlineError | None = None
        self.known: dict[str, Embedding] = {}  # content hash → embedding, for every file embedded in this run
        self.capabilities: dict[str, Any] = {}

    @property
    def job_id(self) -> str:
        return self.job.job_id

    async def log(self, message: str, level: str = "info") -> None:
        """A line of the job's log (not the process log)."""
        await asyncio.to_thread(self.jobdb.log, self.job_id, message, level)

    async def run(self, rescan: bool) -> None:
        await asyncio.to_thread(self.jobdb.set_state, self.job_id, "running")
        try:
            await self._prepare(rescan)
            await self._process_pending()
        except SightlineError as exc:
            self.fatal = exc
        except Exception as exc:  # never leave a job "running" behind a bug
            logger.exception("job %s crashed", self.job_id)
            self.fatal = SightlineError(ErrorCode.INTERNAL_ERROR, f"Unexpected error: {type(exc).__name__}: {exc}")
        await self._finish()

    async def _prepare(self, rescan: bool) -> None:
        self.capabilities = await self.ml.capabilities()
        info = await asyncio.to_thread(self.vectors.collection_info, self.job.collection)
        check_model_matches(self.job.collection, info.params.metadata, self.capabilities)
        if self.job.kind == "scan" and rescan:
            await scan_into_job(self.job, self.jobdb, self.settings.roots, self.log)

    def batch_size(self) -> int:
        configured = self.settings.ml_batch_size or MAX_BATCH
        return max(1, min(configured, int(self.capabilities.get("max_batch_size", configured))))

    async def _process_pending(self) -> None:
        pending = await asyncio.to_thread(self.jobdb.pending_files, self.job_id)
        if not pending:
            return
        size = self.batch_size()
        await self.log(f"{len(pending)} files to process in batches of {size}")
        fingerprinter = Fingerprinter(self.vectors, self.job.collection, self.capabilities,
                                      self.settings.max_upload_bytes, self.known)
        slots = asyncio.Semaphore(self.settings.batches_in_flight)
        in_flight: set[asyncio.Task] = set()
        for start in range(0, len(pending), size):
            await slots.acquire()
            if self.cancel_requested or self.fatal:
                slots.release()
                break
            works = await asyncio.to_thread(fingerprinter.fingerprint, pending[start : start + size])
            task = asyncio.create_task(self._complete_batch(works, start // size + 1))
            task.add_done_callback(lambda _: slots.release())
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        if in_flight:
            await asyncio.gather(*in_flight)

    async def _complete_batch(self, works: list[FileWork], number: int) -> None:
        started = time.perf_counter()
        to_embed = [work for work in works if work.state == "pending" and work.reuse_of is None]
        if to_embed and not self.fatal:
            caption = bool(self.job.options.get("caption", True))
            error = await embed(self.ml, to_embed, caption=caption, known=self.known, on_retry=self._log_retry)
            self.fatal = self.fatal or error
        copy_to_same_content(works)
        await store_points(self.vectors, self.job.collection, self.job_id, works)
        await record_outcomes(self.jobdb, self.job_id, works)
        tally = Counter(work.state for work in works)
        summary = ", ".join(f"{count} {state}" for state, count in sorted(tally.items()))
        await self.log(f"batch {number}: {len(works)} files ({summary}) in {time.perf_counter() - started:.2f}s")

    async def _log_retry(self, message: str) -> None:
        await self.log(message, "warning")

    async def _finish(self) -> None:
        counts = await asyncio.to_thread(self.jobdb.counts, self.job_id)
        if self.fatal is not None:
            error = {"code": str(self.fatal.code), "message": self.fatal.message}
            await self.log(f"job failed: {self.fatal.code}: {self.fatal.message}", "error")
            await asyncio.to_thread(self.jobdb.set_state, self.job_id, "failed", error=error)
            return
        if self.cancel_requested:
            await self.log(f"cancelled with {counts.pending} files not processed", "warning")
            await asyncio.to_thread(self.jobdb.set_state, self.job_id, "cancelled")
            return
        stored = counts.done + counts.cached + counts.skipped
        if counts.failed and not stored:
            error = {"code": str(ErrorCode.ALL_FILES_FAILED),
                     "message": f"all {counts.failed} files failed; see the errors"}
            state = "failed"
        else:
            error, state = None, "completed_with_errors" if counts.failed else "completed"
        await self.log(
            f"finished: {counts.done} embedded, {counts.cached} reused, {counts.skipped} unchanged, "
            f"{counts.failed} failed"
        )
        await asyncio.to_thread(self.jobdb.set_state, self.job_id, state, error=error)
