"""`JobRun`: one run of one job through the stages, from its pending files to a terminal state.

scan (scan jobs) → per batch: fingerprint (worker thread) → embed → store → record; up to
`batches_in_flight` batches at once. Any error that is not one file's ends the run as "failed", a batch's
included (its task's error is always collected); a run never ends "completed" with files still pending.
Job-store writes wait out a database locked by another process (`patience`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from typing import Any

from sightline.config import IngestSettings
from sightline.errors import ErrorCode, SightlineError
from sightline.humanize import plural
from sightline.ingest.jobdb import FileRecord, Job, JobStore
from sightline.ingest.ml_client import MLClient
from sightline.ingest.model_match import check_model_matches
from sightline.ingest.pipeline.batching import BatchLimits
from sightline.ingest.pipeline.embed import copy_to_same_content, embed
from sightline.ingest.pipeline.fingerprint import Fingerprinter
from sightline.ingest.pipeline.patience import STORE_PATIENCE_S, patiently
from sightline.ingest.pipeline.scan import scan_into_job
from sightline.ingest.pipeline.work import FileWork, RecentContent
from sightline.ingest.pipeline.write import record_outcomes, store_points
from sightline.ingest.review.copies import follow_after_sync
from sightline.ingest.sources.sync import SourceSync
from sightline.ingest.vectors import VectorStore

logger = logging.getLogger("sightline.pipeline")
PENDING_PAGE = 5000  # pending files read from the job store at once


class JobRun:
    def __init__(self, job: Job, jobdb: JobStore, vectors: VectorStore, ml: MLClient, settings: IngestSettings):
        self.job = job
        self.jobdb = jobdb
        self.vectors = vectors
        self.ml = ml
        self.settings = settings
        self.cancel_requested = False
        self.fatal: SightlineError | None = None
        self.known = RecentContent(settings.content_cache_entries)  # content hash → embedding, the latest ones
        self.capabilities: dict[str, Any] = {}
        self.store_patience_s = STORE_PATIENCE_S  # how long job-store writes wait out a locked database
        self.limits = BatchLimits(1, None, settings.max_upload_bytes)  # from the ML service's, once known
        self.sync = SourceSync(job, jobdb, vectors, settings, self.log, self.persist) if job.kind == "sync" else None

    @property
    def job_id(self) -> str:
        return self.job.job_id

    async def persist(self, call: Any, *args: Any, **kwargs: Any) -> Any:
        """A job-store call in a worker thread, patient with a locked database."""
        return await patiently(call, *args, patience_s=self.store_patience_s, **kwargs)

    async def log(self, message: str, level: str = "info") -> None:
        """A line of the job's log (not the process log)."""
        await self.persist(self.jobdb.log, self.job_id, message, level)

    async def run(self, rescan: bool) -> None:
        await self.persist(self.jobdb.set_state, self.job_id, "running")
        try:
            await self._prepare(rescan)
            await self._process_pending()
            if self.sync is not None and not (self.fatal or self.cancel_requested):
                await self.sync.settle()
                await self._follow_copies()
        except SightlineError as exc:
            self.fatal = exc
        except Exception as exc:  # never leave a job "running" behind a bug
            logger.exception("job %s crashed", self.job_id)
            self.fatal = SightlineError(ErrorCode.INTERNAL_ERROR, f"Unexpected error: {type(exc).__name__}: {exc}")
        await self._finish()
        if self.sync is not None:
            await self.sync.finished(self.fatal is None and not self.cancel_requested)

    async def _prepare(self, rescan: bool) -> None:
        if self.sync is not None:
            if rescan:
                await self.sync.prepare()
            if not await self.persist(self.jobdb.pending_files, self.job_id, 1):
                return  # nothing to read: a sync that only removes (or finds nothing) asks nothing of the ML service
        self.capabilities = await self.ml.capabilities(on_retry=self._log_retry)
        info = await asyncio.to_thread(self.vectors.collection_info, self.job.collection)
        check_model_matches(self.job.collection, info.params.metadata, self.capabilities)
        if self.job.kind == "scan" and rescan:
            await scan_into_job(self.job, self.jobdb, self.settings.roots, self.log, self.persist)

    async def _follow_copies(self) -> None:
        """Copies of this source's files in other collections follow what the sync changed (`review/copies.py`);
        a failure there is logged, the sync itself went through."""
        counts = await self.persist(self.jobdb.counts, self.job_id)
        if not (counts.done or counts.moved or counts.removed):
            return
        try:
            changed = await asyncio.to_thread(follow_after_sync, self.vectors, self.settings, self.jobdb,
                                              self.job.collection, self.job.options.get("source_id", ""))
        except SightlineError as exc:
            await self.log(f"copies in other collections not brought along: {exc.code}: {exc.message}", "warning")
            return
        for name, tally in changed.items():
            await self.log(f"copies in {name}: " + ", ".join(f"{n} {what}" for what, n in sorted(tally.items())))

    async def _process_pending(self) -> None:
        """The pending files page by page (memory stays flat over a job of any size); a page's batches all end
        before the next page is read, so each page holds only files still to do."""
        page = await self.persist(self.jobdb.pending_files, self.job_id, PENDING_PAGE)
        if not page:
            return
        self.limits = BatchLimits.from_capabilities(self.capabilities, self.settings)
        pending = (await self.persist(self.jobdb.counts, self.job_id)).pending
        await self.log(f"{plural(pending, 'file')} to process in {self.limits.describe()}")
        fingerprinter = Fingerprinter(self.vectors, self.job.collection, self.capabilities,
                                      self.limits.file_bytes, self.known, roots=self.settings.roots,
                                      job_id=self.job_id)
        batches = 0
        while page and not (self.cancel_requested or self.fatal):
            batches = await self._process_page(page, fingerprinter, batches)
            seen = {record.path for record in page}
            page = await self.persist(self.jobdb.pending_files, self.job_id, PENDING_PAGE)
            if any(record.path in seen for record in page):  # never loop on files a page left pending
                break

    async def _process_page(self, page: list[FileRecord], fingerprinter: Fingerprinter, batches: int) -> int:
        """Runs the page's batches, up to `batches_in_flight` at once; returns the number of the last one."""
        slots = asyncio.Semaphore(self.settings.batches_in_flight)
        in_flight: set[asyncio.Task] = set()
        for batches, records in enumerate(self.limits.groups(page, lambda record: record.size), start=batches + 1):
            await slots.acquire()
            if self.cancel_requested or self.fatal:
                slots.release()
                break
            works = await asyncio.to_thread(fingerprinter.fingerprint, records)
            task = asyncio.create_task(self._complete_batch(works, batches))
            task.add_done_callback(lambda _: slots.release())
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
            task.add_done_callback(self._collect_error)
        if in_flight:
            await asyncio.gather(*in_flight, return_exceptions=True)  # their errors: _collect_error
        return batches

    def _collect_error(self, task: asyncio.Task) -> None:
        """A batch that raised ends the run as failed (its files stay pending, to be retried)."""
        if task.cancelled() or task.exception() is None:
            return
        exc = task.exception()
        if isinstance(exc, SightlineError):
            self.fatal = self.fatal or exc
            return
        logger.error("job %s: a batch crashed", self.job_id, exc_info=exc)
        self.fatal = self.fatal or SightlineError(ErrorCode.INTERNAL_ERROR,
                                                  f"Unexpected error: {type(exc).__name__}: {exc}")

    async def _complete_batch(self, works: list[FileWork], number: int) -> None:
        started = time.perf_counter()
        to_embed = [work for work in works if work.state == "pending" and work.reuse_of is None]
        if to_embed and not self.fatal:
            caption = bool(self.job.options.get("caption", True))
            for chunk in self.limits.groups(to_embed, lambda work: len(work.data or b"")):
                error = await embed(self.ml, chunk, caption=caption, known=self.known, on_retry=self._log_retry)
                self.fatal = self.fatal or error
                if error:
                    break
        copy_to_same_content(works)
        await store_points(self.vectors, self.job.collection, self.job_id, works, self.persist,
                           roots=self.settings.roots)
        await record_outcomes(self.jobdb, self.job_id, works, self.persist)
        tally = Counter(work.state for work in works)
        summary = ", ".join(f"{count} {state}" for state, count in sorted(tally.items()))
        await self.log(f"batch {number}: {plural(len(works), 'file')} ({summary}) in {time.perf_counter() - started:.2f}s")

    async def _log_retry(self, message: str) -> None:
        await self.log(message, "warning")

    async def _finish(self) -> None:
        counts = await self.persist(self.jobdb.counts, self.job_id)
        error: dict[str, str] | None
        if self.fatal is None and not self.cancel_requested and counts.pending:
            self.fatal = SightlineError(ErrorCode.STORE_FAILED,
                                        f"{counts.pending} files were not processed; retry the job")
        if self.fatal is not None:
            error = {"code": str(self.fatal.code), "message": self.fatal.message}
            await self.log(f"job failed: {self.fatal.code}: {self.fatal.message}", "error")
            await self.persist(self.jobdb.set_state, self.job_id, "failed", error=error)
            return
        if self.cancel_requested:
            await self.log(f"cancelled with {counts.pending} files not processed", "warning")
            await self.persist(self.jobdb.set_state, self.job_id, "cancelled")
            return
        stored = counts.done + counts.cached + counts.skipped + counts.moved
        if counts.failed and not stored:
            error = {"code": str(ErrorCode.ALL_FILES_FAILED),
                     "message": f"{_all_failed(counts.failed)}; see the errors"}
            state = "failed"
        else:
            error, state = None, "completed_with_errors" if counts.failed else "completed"
        await self.log(
            f"finished: {counts.done} embedded, {counts.cached} reused, {counts.skipped} unchanged, "
            f"{counts.moved} moved, {counts.removed} removed, {counts.failed} failed"
        )
        await self.persist(self.jobdb.set_state, self.job_id, state, error=error)


def _all_failed(count: int) -> str:
    return "the only file failed" if count == 1 else f"all {plural(count, 'file')} failed"
