"""A source: a folder inside the ingest roots that a collection follows (watched, re-scanned, synced)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SourceState = Literal["watching", "idle", "offline", "syncing"]


@dataclass
class Source:
    source_id: str
    collection: str
    path: str  # the folder's real path, in its text form (`ingest.paths.path_text`)
    watch: bool
    exclude: list[str]
    rescan_minutes: int  # 0: no periodic re-scan
    offline: str | None  # why the folder cannot be read now; None while it can
    created_at: str
    last_sync_at: str | None
    last_job_id: str | None
    syncing: bool = False  # a sync job of it is queued or running (filled in by the reader)
    last_sync: dict | None = None  # that job's job_id, state and counts (filled in by the reader)
    images: int | None = None  # points under its folder (filled in by the reader)
    removed_by_user: int | None = None  # files under it a person removed from the index (filled in by the reader)
    unreadable: int | None = None  # files under it that failed for good, left out while unchanged (by the reader)
    unreadable_files: list[dict] | None = None  # the first of them: path, job_id, code, message (by the reader)

    @property
    def state(self) -> SourceState:
        if self.offline:
            return "offline"
        if self.syncing:
            return "syncing"
        return "watching" if self.watch else "idle"

    def to_dict(self) -> dict:
        return {
            "source_id": self.source_id,
            "collection": self.collection,
            "path": self.path,
            "watch": self.watch,
            "exclude": self.exclude,
            "rescan_minutes": self.rescan_minutes,
            "state": self.state,
            "offline_reason": self.offline,
            "created_at": self.created_at,
            "last_sync_at": self.last_sync_at,
            "last_sync": self.last_sync,
            "images": self.images,
            "removed_by_user": self.removed_by_user,
            "unreadable": self.unreadable,
            "unreadable_files": self.unreadable_files,
        }
