"""A sync job's two ends around the pipeline (`pipeline.run.JobRun` calls them for kind "sync"):

`prepare`: list the source's folder, compare with the points stored under it, and queue only what changed
(new or modified files become the job's pending files; unchanged ones are counted, never read; one modified
less than the settle time ago is left for a follow-up sync unless a person asked for this one); a folder that
is missing, unreadable, or empty while points exist marks the source offline and nothing is removed.
A job resumed after a restart lists its folder again: the files it already has a row for (stored before the stop
or still pending) are counted by that row only, so its total stays that of the folder and its percent does not jump.

`settle`: after the pending files are stored, the points whose file is gone. One whose content was just stored
under a new path (a pending file reused its vector: no embedding) was **moved**: that file is counted "moved"
and the old point goes. The others were deleted: point and thumbnails removed (`removal`), counted "removed",
each logged. Points under a folder that could not be listed are kept.

The stored files come from the job store's mirror of the vector store (`jobdb.indexed`: one SELECT), trusted
only while its count under the folder equals the store's point count there; else they are scrolled from the
store and the mirror is rebuilt, so a cleared or stale job database never duplicates or loses a point.
A file a person removed from the index (a remembered removal) is kept out while its size and mtime are those it
had then; once it changes it is ingested again, and a removal whose file is gone is forgotten. A file that
failed for a reason a retry cannot mend (`jobdb.failed`: recorded by `settle` after each run) is left out the
same way, counted "skipped" and logged, so one broken file does not end every sync "completed with errors";
a person who asks for a sync gets the same (the job that failed on it offers "Retry failed").
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sightline.config import IngestSettings
from sightline.errors import ErrorCode, SightlineError
from sightline.humanize import plural
from sightline.ingest.jobdb import Job, JobStore
from sightline.ingest.jobdb.failed import FailedFiles, FailedStat
from sightline.ingest.jobdb.indexed import Indexed, IndexedFiles
from sightline.ingest.paths import fs_path, is_inside
from sightline.ingest.removal import remove_points
from sightline.ingest.sources.listing import Excludes, Listing, list_source
from sightline.ingest.sources.store import SourceStore
from sightline.ingest.vectors import SearchFilters, VectorStore
from sightline.ingest.vectors._common import SCROLL_PAGE

Log = Callable[..., Awaitable[None]]
STORED_KEYS = ["path", "bytes", "mtime_ns", "sha256"]  # what a sync reads of each stored point
Persist = Callable[..., Awaitable[Any]]
Stat = tuple[int, int]  # (size, mtime_ns)


@dataclass
class Plan:
    pending: list[tuple[str, int, float]] = field(default_factory=list)  # (path, size, mtime s): new or modified
    unchanged: int = 0
    young: int = 0  # modified less than the settle time ago: left for the next sync
    kept_out: int = 0  # removed from the index by a person, unchanged since: not ingested again
    known_bad: int = 0  # failed for good before, unchanged since: not read again
    in_job: int = 0  # already a file of this job (a resumed one): counted by its row, never again
    vanished: list[str] = field(default_factory=list)  # stored files not listed
    forgotten: list[str] = field(default_factory=list)  # removals whose file is gone
    unfailed: list[str] = field(default_factory=list)  # failures whose file is gone, or stored now


def stored_files(vectors: VectorStore, collection: str, folder: str) -> dict[str, Indexed]:
    """path → point of every point of `collection` under `folder` (text form), scrolled from the store."""
    found: dict[str, Indexed] = {}
    offset = None
    while True:
        points, offset = vectors.scroll(collection, limit=SCROLL_PAGE, offset=offset,
                                        filters=SearchFilters(folder=folder), payload_keys=STORED_KEYS)
        for point in points:
            payload = point.payload
            found[payload["path"]] = Indexed(point.id, payload.get("bytes"), payload.get("mtime_ns"),
                                                payload.get("sha256"))
        if offset is None:
            return found


def known_files(vectors: VectorStore, indexed: IndexedFiles, collection: str, folder: str
                ) -> tuple[dict[str, Stat], dict[str, Stat], bool]:
    """path → (size, mtime_ns) of the stored files and of the remembered removals under `folder`: from the
    mirror while its count agrees with the store's, else scrolled from the store (and the mirror rebuilt: True)."""
    rebuilt = indexed.count(collection, folder) != vectors.count(collection, SearchFilters(folder=folder))
    if rebuilt:
        indexed.rebuild(collection, folder, stored_files(vectors, collection, folder))
    return indexed.stats(collection, folder), indexed.removed(collection, folder), rebuilt


def plan(listing: Listing, stored: dict[str, Stat], settle_s: float, now_ns: int,
         removed: dict[str, Stat] | None = None, failed: dict[str, FailedStat] | None = None,
         in_job: Collection[str] = ()) -> Plan:
    """`in_job`: the paths the job already has a row for (a job resumed after a restart lists its folder again):
    neither counted nor queued again, so the job's total counts each listed file once."""
    result = Plan()
    removed, failed = dict(removed or {}), dict(failed or {})
    young_after = now_ns - int(settle_s * 1e9)
    for path, stat in listing.files.items():
        if path in in_job:
            result.in_job += 1  # (and listed: neither gone nor forgotten)
            stored.pop(path, None)
            removed.pop(path, None)
            failed.pop(path, None)
        elif stored.pop(path, None) == stat:  # (size, mtime_ns) both: tuples compare as such
            result.unchanged += 1
        elif removed.pop(path, None) == stat:
            result.kept_out += 1
        elif failed.pop(path, None) == (stat.size, stat.mtime_ns / 1e9):  # as the job's `files` row holds it
            result.known_bad += 1
        elif young_after < stat.mtime_ns <= now_ns:
            result.young += 1
        else:
            result.pending.append((path, stat.size, stat.mtime_ns / 1e9))
    unreadable = [Path(folder) for folder in listing.unreadable]

    def unlistable(path: str) -> bool:  # under a folder that could not be listed: its files are kept
        return bool(unreadable and is_inside(Path(path).parent, unreadable))

    result.vanished = [path for path in stored if not unlistable(path)]
    result.forgotten = [path for path in removed if not unlistable(path)]
    result.unfailed = [path for path in failed if not unlistable(path)]  # (a changed one stays until tried)
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
        self.indexed = IndexedFiles(jobdb)
        self.failed = FailedFiles(jobdb)
        self.vanished: dict[str, Indexed] = {}
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
        stored, removed, rebuilt = await asyncio.to_thread(known_files, self.vectors, self.indexed,
                                                           self.job.collection, root)
        if rebuilt:
            await self.log("the stored files were read from the vector store (the job store's copy of them was "
                           "missing or out of date: rebuilt)")
        reason = offline_reason(root, listing, len(stored) + len(removed))  # (an empty folder forgets nothing)
        if reason is not None:
            await self.persist(self.sources.set_offline, source.source_id, reason)
            raise SightlineError(ErrorCode.SOURCE_OFFLINE, f"{reason}; nothing was changed", where=root)
        if source.offline:
            await self.persist(self.sources.set_offline, source.source_id, None)
            await self.log(f"{root} is back online")
        assert listing is not None
        settle_s = 0.0 if self.job.options.get("asked") else self.settings.source_settle_seconds
        failed = await self.persist(self.failed.known, self.job.collection, root)
        in_job = {record.path for record in await self.persist(self.jobdb.files, self.job.job_id, limit=-1)}
        result = plan(listing, stored, settle_s, time.time_ns(), removed, failed, in_job)
        await self._queue(result)
        await self.log(
            f"listed {plural(len(listing.files), 'file')} in {time.perf_counter() - started:.2f}s: {len(result.pending)} new "
            f"or changed, {result.unchanged} unchanged, {result.kept_out} removed from the index by a person "
            f"(kept out while unchanged), {len(result.vanished)} gone, {result.young} still being written, "
            f"{listing.excluded} excluded, {plural(listing.links, 'link')} not followed")
        if result.in_job:
            await self.log(f"{plural(result.in_job, 'file')} already in this job (listed before the restart): "
                           "counted once, by where they stand")
        if result.known_bad:
            await self.log(f"{plural(result.known_bad, 'file')} that could not be read before, unchanged since: not "
                           "read again (counted unchanged; the source lists them)")
        for folder in listing.unreadable:
            await self.log(f"cannot list {folder}: its images are kept", "warning")

    async def _queue(self, result: Plan) -> None:
        """The plan into the job store: pending files, the count of the unchanged, what is forgotten."""
        self.vanished = await self.persist(self.indexed.points, self.job.collection, result.vanished)
        self.young = result.young
        await self.persist(self.jobdb.add_files, self.job.job_id, result.pending)
        await self.persist(self.jobdb.set_unchanged, self.job.job_id,
                           result.unchanged + result.kept_out + result.known_bad)
        if result.forgotten:
            await self.persist(self.indexed.forget, self.job.collection, result.forgotten)
        if result.unfailed:
            await self.persist(self.failed.forget, self.job.collection, result.unfailed)

    def _list(self, root: str) -> Listing | None:
        if not os.path.isdir(fs_path(root)):
            return None
        return list_source(fs_path(root), self.excludes)

    async def settle(self) -> None:
        """Once the job's pending files are stored: the files that failed for good remembered (those it read
        forgotten), then moves and removals."""
        remembered = await self.persist(self.failed.record_job, self.job.job_id)
        if remembered:
            await self.log(f"{plural(remembered, 'file')} could not be read, not for a reason a retry mends: later "
                           "syncs leave them out until they change")
        await self._remove_vanished()

    async def _remove_vanished(self) -> None:
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
        await self.persist(self.indexed.forget, self.job.collection, list(doomed))
        await self.persist(self.jobdb.add_files, self.job.job_id, [(path, None, None) for path, *_ in removed])
        await self.persist(self.jobdb.mark_files, self.job.job_id, moved + removed)

    def _excluded(self, path: str) -> bool:
        return self.excludes.covers("/" + os.path.relpath(path, self.job.source))

    async def finished(self, ok: bool) -> None:
        """Stamp the source's last sync (when the job got through)."""
        source_id = self.job.options.get("source_id", "")
        if ok:
            await self.persist(self.sources.synced, source_id, self.job.job_id)
