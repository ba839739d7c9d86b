"""Following one source while the service runs: watch its folder (`watchfiles`: inotify, or polling for
network mounts), let changed files settle, ask for a sync, re-scan it periodically, and notice it going offline
and coming back.

A burst of changes becomes one sync: changes are gathered until none came for the settle time *and* the size and
modification time of every changed path stayed the same over it (a copy in progress keeps changing them).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable
from typing import Literal

from watchfiles import Change, awatch

from sightline.config import IngestSettings
from sightline.ingest.paths import fs_path
from sightline.ingest.sources.listing import Excludes
from sightline.ingest.sources.models import Source

logger = logging.getLogger("sightline.sources")
RequestSync = Callable[[str, str], Awaitable[object]]  # (source_id, reason)
Ended = Literal["gone", "rescan"]
Signature = tuple[int, int] | None


def folder_state(root: str) -> Literal["ok", "missing", "empty"]:
    """"empty": a folder with nothing in it, what an unmounted drive's mount point looks like."""
    try:
        with os.scandir(fs_path(root)) as entries:
            return "ok" if next(entries, None) is not None else "empty"
    except OSError:
        return "missing"


def signature(path: str) -> Signature:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns


def signatures(paths: list[str]) -> dict[str, Signature]:
    return {path: signature(path) for path in paths}


class Watch:
    """One watch of a source's folder, until the folder goes away or a periodic re-scan is due."""

    def __init__(self, source: Source, settings: IngestSettings, request_sync: RequestSync):
        self.source = source
        self.root = fs_path(source.path)
        self.settings = settings
        self.request_sync = request_sync
        self.excludes = Excludes(source.exclude)
        self.dirty: dict[str, Signature] = {}  # changed paths → their size and mtime when last seen changing

    def wanted(self, change: Change, path: str) -> bool:
        relative = "/" + os.path.relpath(path, self.root)
        if any(part.startswith(".") for part in relative.split("/")):
            return False
        return not self.excludes.covers(relative)

    async def run(self, until: float) -> Ended:
        polling = self.settings.source_force_polling
        try:
            return await self._watch(until, polling)
        except (OSError, RuntimeError) as exc:  # e.g. the inotify watch limit reached: poll instead
            if polling:
                raise
            logger.warning("source %s: cannot watch %s (%s); polling it instead", self.source.source_id,
                           self.source.path, exc)
            return await self._watch(until, True)

    async def _watch(self, until: float, polling: bool) -> Ended:
        settle_ms = max(1, int(self.settings.source_settle_seconds * 1000))
        async for changes in awatch(
            self.root, watch_filter=self.wanted, force_polling=polling or None,
            poll_delay_ms=self.settings.source_poll_ms, rust_timeout=settle_ms, yield_on_timeout=True,
            step=50, debounce=settle_ms, ignore_permission_denied=True,
        ):
            if not os.path.isdir(self.root):
                return "gone"
            if changes:  # stat'ed in a thread: a burst can be thousands of paths
                self.dirty.update(await asyncio.to_thread(signatures, [path for _, path in changes]))
            elif self.dirty:
                await self._settle()
            if time.monotonic() >= until:
                return "rescan"
        return "gone"  # the watcher ended by itself: its folder went away

    async def _settle(self) -> None:
        """A quiet period: sync once every changed path kept its size and mtime over it."""
        now = await asyncio.to_thread(signatures, list(self.dirty))
        if now != self.dirty:
            self.dirty = now
            return
        logger.info("source %s: %d changes settled", self.source.source_id, len(self.dirty))
        self.dirty = {}
        await self.request_sync(self.source.source_id, "changes seen")


async def follow(source_id: str, load: Callable[[str], Awaitable[Source | None]],
                 mark_offline: Callable[[str, str], Awaitable[None]], request_sync: RequestSync,
                 settings: IngestSettings, reason: str | None) -> None:
    """Runs until cancelled (or the source is removed). `reason`: why the first sync is asked for (None: it
    was asked for already)."""
    while (source := await load(source_id)) is not None:
        state = await asyncio.to_thread(folder_state, source.path)
        if state == "missing" or (source.offline and state == "empty"):  # an empty folder: the sync decides
            if not source.offline:
                await mark_offline(source_id, f"the folder {source.path} is missing or is not a folder")
            await asyncio.sleep(settings.source_offline_check_seconds)
            continue
        if source.offline:
            reason = "back online"
        if reason is not None:
            await request_sync(source_id, reason)
        until = time.monotonic() + (source.rescan_minutes * 60 if source.rescan_minutes else float("inf"))
        if source.watch:
            ended = await Watch(source, settings, request_sync).run(until)
        else:
            await asyncio.sleep(max(0.0, until - time.monotonic()) if source.rescan_minutes else 1e9)
            ended = "rescan"
        reason = "periodic re-scan" if ended == "rescan" else "folder changed"
