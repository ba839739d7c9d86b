"""`JobRunner`: the queue that runs jobs one after another in the background, and resumes unfinished ones."""

from __future__ import annotations

import asyncio
import logging

from sightline.config import IngestSettings
from sightline.ingest.indexing import Indexer
from sightline.ingest.jobdb import JobStore
from sightline.ingest.ml_client import MLClient
from sightline.ingest.pipeline.run import JobRun
from sightline.ingest.sources.manager import SourceManager
from sightline.ingest.vectors import VectorStore

logger = logging.getLogger("sightline.pipeline")


class JobRunner:
    def __init__(self, jobdb: JobStore, vectors: VectorStore, ml: MLClient, settings: IngestSettings):
        self.jobdb = jobdb
        self.vectors = vectors
        self.ml = ml
        self.settings = settings
        self.queue: asyncio.Queue[tuple[str, bool]] = asyncio.Queue()
        self.current: JobRun | None = None
        self._worker: asyncio.Task | None = None
        self._run_ended = asyncio.Event()  # set (and replaced) each time a job stops running
        self._claiming = asyncio.Lock()  # held from taking a job off the queue until it is `current` (or dropped)
        self.indexer = Indexer(vectors, settings.index_min_points)  # vector index builds after big jobs
        self.sources = SourceManager(jobdb, vectors, settings, self.enqueue)  # watched folders: they queue sync jobs

    async def start(self) -> None:
        """Queue the jobs a stopped or killed process left unfinished, then start working."""
        resumed = await asyncio.to_thread(self.jobdb.mark_interrupted_running_as_queued)
        for job in await asyncio.to_thread(self.jobdb.unfinished_jobs):
            self.queue.put_nowait((job.job_id, True))
        if resumed:
            logger.info("resuming %d interrupted job(s)", resumed)
        self._worker = asyncio.create_task(self._work())
        await self.sources.start()

    async def stop(self) -> None:
        await self.sources.stop()
        if self.current is not None:
            self.current.cancel_requested = True
        if self._worker is not None:
            self._worker.cancel()
            try:
                await self._worker
            except (asyncio.CancelledError, Exception):
                pass
        await self.indexer.stop()

    def enqueue(self, job_id: str, rescan: bool = True) -> None:
        self.queue.put_nowait((job_id, rescan))

    async def join(self) -> None:
        """Wait until every job queued so far has run."""
        await self.queue.join()

    async def cancel(self, job_id: str) -> bool:
        """Stops a running job after its batches in flight, or a queued one at once."""
        if self.current is not None and self.current.job_id == job_id:
            self.current.cancel_requested = True
            await self.current.log("cancel requested; finishing batches in flight", "warning")
            return True
        job = await asyncio.to_thread(self.jobdb.get_job, job_id)
        if job is not None and job.state == "queued":
            await asyncio.to_thread(self.jobdb.set_state, job_id, "cancelled")
            await asyncio.to_thread(self.jobdb.log, job_id, "cancelled before it started", "warning")
            return True
        return False

    async def stop_collection(self, collection: str) -> None:
        """Cancel the collection's queued and running jobs and wait until none of them runs any more, so
        nothing is written to the collection after this returns (e.g. before it is deleted)."""
        unfinished = await asyncio.to_thread(self.jobdb.list_jobs, collection=collection,
                                             states=("queued", "running"), limit=1_000_000)
        for job in unfinished:
            await self.cancel(job.job_id)
        async with self._claiming:  # a job taken off the queue while we looked is `current` after this
            pass
        while (run := self.current) is not None and run.job.collection == collection:
            run.cancel_requested = True  # also one that started while the loop above ran
            await self._run_ended.wait()

    async def _work(self) -> None:
        while True:
            job_id, rescan = await self.queue.get()
            try:
                await self._run(job_id, rescan)
            finally:
                self.queue.task_done()

    async def _run(self, job_id: str, rescan: bool) -> None:
        async with self._claiming:
            job = await asyncio.to_thread(self.jobdb.get_job, job_id)
            if job is None or job.state != "queued":
                return
            self.current = run = JobRun(job, self.jobdb, self.vectors, self.ml, self.settings)
        try:
            await run.run(rescan)
        except Exception:  # e.g. its collection and records were deleted under it
            logger.exception("job %s ended abnormally", job_id)
        finally:
            self.current = None
            self._run_ended.set()
            self._run_ended = asyncio.Event()
        await self.indexer.job_ended(job.collection)
        if run.sync is not None and (ended := await asyncio.to_thread(self.jobdb.get_job, job_id)) is not None:
            await self.sources.job_ended(ended, run.sync.young)
