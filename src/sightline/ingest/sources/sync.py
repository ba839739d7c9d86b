"""A sync job's two ends around the pipeline (`pipeline.run.JobRun` calls them for kind "sync"):

`prepare`: list the source's folder, compare with the points stored under it, and queue only what changed
(new or modified files become the job's pending files; unchanged ones are counted, never read; one modified
less than the settle time ago is left for a follow-up sync unless a person asked for this one); a folder that
is missing, unreadable, or empty while points exist marks the source offline and nothing is removed.

`settle`: after the pending files are stored, the points whose file is gone. One whose content was just stored
under a new path (a pending file reused its vector: no embedding) was **moved**: that file is counted "moved"
and the old point goes. The others were deleted: point and thumbnails removed (`removal`), counted "removed",
each logged. Points under a folder that could not be listed are kept.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from sightline.config import IngestSettings
from sightline.errors import ErrorCode, SightlineError
from sightline.ingest.jobdb import Job, JobStore
from sightline.ingest.paths import fs_path, is_inside
from sightline.ingest.removal import remove_points
from sightline.ingest.sources.listing import Excludes, Listing, list_source
from sightline.ingest.sources.store import SourceStore
from sightline.ingest.vectors import SearchFilters, VectorStore
from sightline.ingest.vectors._common import SCROLL_PAGE

Log = Callable[..., Awaitable[None]]
STORED_KEYS = ["path", "bytes", "mtime_ns", "sha256"]  # what a sync reads of each stored point
Persist = Callable[..., Awaitable[Any]]


class StoredFile(NamedTuple):  # a tuple: one per stored point, made fast
    point_id: str
    size: Any
    mtime_ns: Any
    sha256: str | None


@dataclass
class Plan:
    pending: list[tuple[str, int, float]] = field(default_factory=list)  # (path, size, mtime s): new or modified
    unchanged: int = 0
    young: int = 0  # modified less than the settle time ago: left for the next sync
    vanished: dict[str, StoredFile] = field(default_factory=dict)  # path → its point, file not listed


def stored_files(vectors: VectorStore, collection: str, folder: str) -> dict[str, StoredFile]:
    """path → point of every point of `collection` under `folder` (text form)."""
    found: dict[str, StoredFile] = {}
    offset = None
    while True:
        points, offset = vectors.scroll(collection, limit=SCROLL_PAGE, offset=offset,
                                        filters=SearchFilters(folder=folder), payload_keys=STORED_KEYS)
        for point in points:
            payload = point.payload
            found[payload["path"]] = StoredFile(point.id, payload.get("bytes"), payload.get("mtime_ns"),
                                                payload.get("sha256"))
        if offset is None:
            return found


def plan(listing: Listing, stored: dict[str, StoredFile], settle_s: float, now_ns: int) -> Plan:
    result = Plan()
    young_after = now_ns - int(settle_s * 1e9)
    for path, stat in listing.files.items():
        known = stored.pop(path, None)
        if known is not None and known.size == stat.size and known.mtime_ns == stat.mtime_ns:
            result.unchanged += 1
        elif young_after < stat.mtime_ns <= now_ns:
            result.young += 1
        else:
            result.pending.append((path, stat.size, stat.mtime_ns / 1e9))
    unreadable = [Path(folder) for folder in listing.unreadable]
    result.vanished = {path: known for path, known in stored.items()
                       if not (unreadable and is_inside(Path(path).parent, unreadable))}
    return result


def offline_reason(root: str, listing: Listing | None, stored: int) -> str | None:
    if listing is None:
        return f"the folder {root} is missing or is not a folder"
    if root in listing.unreadable:
        return f"the folder {root} cannot be read"
    if not listing.files and stored:
        return f"the folder {root} is empty (an unmounted drive?); its {stored} images are kept"
    return None


def gone(path: str) -> bool:
    """The file is really not there (not merely unreadable for a moment)."""
    try:
        os.lstat(fs_path(path))
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return False


class SourceSync:
    """The sync of one job's source; `job.options["source_id"]` names it."""

    def __init__(self, job: Job, jobdb: JobStore, vectors: VectorStore, settings: IngestSettings, log: Log,
                 persist: Persist):
        self.job, self.jobdb, self.vectors, self.settings = job, jobdb, vectors, settings
        self.log, self.persist = log, persist
        self.sources = SourceStore(jobdb)
        self.vanished: dict[str, StoredFile] = {}
        self.excludes = Excludes([])
        self.young = 0

    async def prepare(self) -> None:
        source = await self.persist(self.sources.get, self.job.options.get("source_id", ""))
        if source is None:
            raise SightlineError(ErrorCode.NOT_FOUND, "its source was removed", where="source_id")
        self.excludes = Excludes(source.exclude)
        root = source.path
        await self.log(f"syncing {root} ({self.job.options.get('reason', 'asked')})")
        started = time.perf_counter()
        listing = await asyncio.to_thread(self._list, root)
        stored = await asyncio.to_thread(stored_files, self.vectors, self.job.collection, root)
        reason = offline_reason(root, listing, len(stored))
        if reason is not None:
            await self.persist(self.sources.set_offline, source.source_id, reason)
            raise SightlineError(ErrorCode.SOURCE_OFFLINE, f"{reason}; nothing was changed", where=root)
        if source.offline:
            await self.persist(self.sources.set_offline, source.source_id, None)
            await self.log(f"{root} is back online")
        assert listing is not None
        settle_s = 0.0 if self.job.options.get("asked") else self.settings.source_settle_seconds
        result = plan(listing, stored, settle_s, time.time_ns())
        self.vanished, self.young = result.vanished, result.young
        await self.persist(self.jobdb.add_files, self.job.job_id, result.pending)
        await self.persist(self.jobdb.set_unchanged, self.job.job_id, result.unchanged)
        await self.log(
            f"listed {len(listing.files)} files in {time.perf_counter() - started:.2f}s: {len(result.pending)} new "
            f"or changed, {result.unchanged} unchanged, {len(result.vanished)} gone, {result.young} still being "
            f"written, {listing.excluded} excluded, {listing.links} links not followed")
        for folder in listing.unreadable:
            await self.log(f"cannot list {folder}: its images are kept", "warning")

    def _list(self, root: str) -> Listing | None:
        if not os.path.isdir(fs_path(root)):
            return None
        return list_source(fs_path(root), self.excludes)

    async def settle(self) -> None:
        """Moves and removals, once the job's pending files are stored."""
        doomed = {path: stored for path, stored in self.vanished.items()
                  if gone(path) or self._excluded(path)}
        if not doomed:
            return
        arrived = {record.sha256: record for record in
                   await self.persist(self.jobdb.files, self.job.job_id, state="cached", limit=-1) if record.sha256}
        moved, removed = [], []
        for path, stored in doomed.items():
            target = arrived.pop(stored.sha256, None) if stored.sha256 else None
            if target is not None:
                moved.append((target.path, "moved", None, None))
                await self.log(f"moved: {path} → {target.path}")
            else:
                removed.append((path, "removed", None, stored.sha256))
                await self.log(f"removed: {path} (the file is {'excluded' if self._excluded(path) else 'gone'})")
        ids = [stored.point_id for stored in doomed.values()]
        await asyncio.to_thread(remove_points, self.vectors, self.settings, self.job.collection, ids)
        await self.persist(self.jobdb.add_files, self.job.job_id, [(path, None, None) for path, *_ in removed])
        await self.persist(self.jobdb.mark_files, self.job.job_id, moved + removed)

    def _excluded(self, path: str) -> bool:
        return self.excludes.covers("/" + os.path.relpath(path, self.job.source))

    async def finished(self, ok: bool) -> None:
        """Stamp the source's last sync (when the job got through)."""
        source_id = self.job.options.get("source_id", "")
        if ok:
            await self.persist(self.sources.synced, source_id, self.job.job_id)
