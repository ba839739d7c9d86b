"""`SourceManager`: the sources of a running ingestion service — one follower task per source (`watcher`),
and the one place that turns "this source needs a sync" into a queued sync job (a burst of requests while one
is still queued is that same job)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from sightline.config import IngestSettings
from sightline.errors import ErrorCode
from sightline.ingest.jobdb import Job, JobStore
from sightline.ingest.jobdb.indexed import IndexedFiles
from sightline.ingest.sources.models import Source
from sightline.ingest.sources.store import SourceStore
from sightline.ingest.sources.watcher import follow
from sightline.ingest.vectors import CollectionNotFound, VectorStore

logger = logging.getLogger("sightline.sources")


class SourceManager:
    def __init__(self, jobdb: JobStore, vectors: VectorStore, settings: IngestSettings,
                 enqueue: Callable[[str], None]):
        self.jobdb = jobdb
        self.vectors = vectors
        self.store = SourceStore(jobdb)
        self.settings = settings
        self.enqueue = enqueue
        self._followers: dict[str, asyncio.Task] = {}
        self._requesting = asyncio.Lock()
        self._started = False
        self._later: set[asyncio.Future] = set()  # follow-up syncs in flight (a reference keeps them alive)

    async def start(self) -> None:
        """Follow every source; each gets a catch-up sync (changes made while the service was down)."""
        self._started = True
        for source in await asyncio.to_thread(self.store.list):
            self.follow(source.source_id, "service start")

    async def stop(self) -> None:
        self._started = False
        for source_id in list(self._followers):
            await self.unfollow(source_id)

    def follow(self, source_id: str, reason: str | None) -> None:
        """(Re)start following a source (after it was added or edited); its first step asks for a sync (unless
        `reason` is None)."""
        if not self._started:
            return
        old = self._followers.pop(source_id, None)
        if old is not None:
            old.cancel()
        task = asyncio.create_task(follow(source_id, self._load, self._mark_offline, self.request_sync,
                                          self.settings, reason), name=f"source {source_id}")
        task.add_done_callback(lambda done: self._ended(source_id, done))
        self._followers[source_id] = task

    async def unfollow(self, source_id: str) -> None:
        task = self._followers.pop(source_id, None)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def _ended(self, source_id: str, task: asyncio.Task) -> None:
        if self._followers.get(source_id) is task:
            del self._followers[source_id]
        if not task.cancelled() and task.exception() is not None:
            logger.error("source %s: its follower crashed", source_id, exc_info=task.exception())

    async def _load(self, source_id: str) -> Source | None:
        return await asyncio.to_thread(self.store.get, source_id)

    async def _mark_offline(self, source_id: str, reason: str) -> None:
        logger.warning("source %s offline: %s", source_id, reason)
        await asyncio.to_thread(self.store.set_offline, source_id, reason)

    async def request_sync(self, source_id: str, reason: str, *, asked: bool = False) -> Job | None:
        """The source's queued sync job (made now unless one is still waiting to start); None for no source.
        `asked`: a person asked for it (adding the source, "sync now"): files still being written are read too."""
        async with self._requesting:
            source = await asyncio.to_thread(self.store.get, source_id)
            if source is None:
                return None
            if not await asyncio.to_thread(self._collection_exists, source.collection):
                await self.drop_collection(source.collection)  # deleted without dropping its sources
                return None
            last = await asyncio.to_thread(self.jobdb.get_job, source.last_job_id) if source.last_job_id else None
            if last is not None and last.state == "queued" and (last.options.get("asked") or not asked):
                return last
            options = {"source_id": source_id, "reason": reason, "caption": True, "asked": asked}
            job = await asyncio.to_thread(self.jobdb.create_job, source.collection, "sync", source.path, options)
            await asyncio.to_thread(self.store.started, source_id, job.job_id)
            await asyncio.to_thread(self.jobdb.log, job.job_id, f"queued: sync of {source.path} ({reason})")
        self.enqueue(job.job_id)
        return job

    def _collection_exists(self, name: str) -> bool:
        try:
            self.vectors.collection_info(name)
        except CollectionNotFound:
            return False
        return True

    async def job_ended(self, job: Job, young: int) -> None:
        """After a sync job: follow an offline source afresh (it waits for its folder), sync again once files
        that were still being written have settled."""
        source_id = job.options.get("source_id", "")
        if job.error and job.error.get("code") == ErrorCode.SOURCE_OFFLINE and source_id in self._followers:
            self.follow(source_id, "offline")
        elif young:
            asyncio.get_running_loop().call_later(self.settings.source_settle_seconds, self._later_sync, source_id)

    def _later_sync(self, source_id: str) -> None:
        future = asyncio.ensure_future(self.request_sync(source_id, "files settled"))
        self._later.add(future)
        future.add_done_callback(self._later.discard)

    async def copy_sources(self, collection: str, target: str) -> list[str]:
        """After `collection` was merged into `target`: `target` follows the folders `collection` follows (those
        it does not follow already), with their settings and the photos a person removed from them kept out.
        Their first sync finds the merged points in place and embeds nothing that was merged. The folders'
        paths, in order."""
        followed = {source.path for source in await asyncio.to_thread(self.store.list, target)}
        indexed = IndexedFiles(self.jobdb)
        added = []
        for source in await asyncio.to_thread(self.store.list, collection):
            if source.path in followed:
                continue
            removed = await asyncio.to_thread(indexed.removed, collection, source.path)
            await asyncio.to_thread(indexed.remember_removed, target,
                                    [(path, size, mtime) for path, (size, mtime) in removed.items()])
            copy = await asyncio.to_thread(self.store.add, target, source.path, watch=source.watch,
                                           exclude=source.exclude, rescan_minutes=source.rescan_minutes)
            self.follow(copy.source_id, f"followed after merging {collection}")
            added.append(copy.path)
        return added

    async def drop_collection(self, collection: str) -> int:
        """Stop following the collection's sources and forget them (the collection is being deleted)."""
        for source in await asyncio.to_thread(self.store.list, collection):
            await self.unfollow(source.source_id)
        return await asyncio.to_thread(self.store.drop_collection, collection)
