"""`SourceStore`: the `sources` table of the job store's SQLite file (one connection, the job store's)."""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from pathlib import Path
from typing import Any

from sightline.errors import ErrorCode, SightlineError, utc_now
from sightline.ingest.jobdb import JobStore
from sightline.ingest.jobdb.failed import FailedFiles
from sightline.ingest.jobdb.indexed import IndexedFiles
from sightline.ingest.sources.models import Source

EDITABLE = ("watch", "exclude", "rescan_minutes")


def _now() -> str:
    return utc_now().isoformat(timespec="microseconds").replace("+00:00", "Z")


def _source(row: sqlite3.Row) -> Source:
    return Source(row["source_id"], row["collection"], row["path"], bool(row["watch"]), json.loads(row["exclude"]),
                  row["rescan_minutes"], row["offline"], row["created_at"], row["last_sync_at"], row["last_job_id"])


class SourceStore:
    """Every method commits on return; blocking (run it in a thread from async code)."""

    def __init__(self, jobdb: JobStore):
        self.jobdb = jobdb

    def add(self, collection: str, path: str, *, watch: bool, exclude: list[str], rescan_minutes: int) -> Source:
        source_id = uuid.uuid4().hex[:12]
        try:
            with self.jobdb.writing() as conn:
                conn.execute(
                    "INSERT INTO sources (source_id, collection, path, watch, exclude, rescan_minutes, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (source_id, collection, path, int(watch), json.dumps(exclude), rescan_minutes, _now()))
        except sqlite3.IntegrityError:
            raise SightlineError(ErrorCode.CONFLICT, f"{path} is already a source of {collection}.", where="path",
                                 status=409) from None
        return self.get(source_id)  # type: ignore[return-value]

    def get(self, source_id: str) -> Source | None:
        with self.jobdb.reading() as conn:
            row = conn.execute("SELECT * FROM sources WHERE source_id = ?", (source_id,)).fetchone()
        return _source(row) if row else None

    def list(self, collection: str | None = None) -> list[Source]:
        sql, params = "SELECT * FROM sources ORDER BY collection, path", []
        if collection is not None:
            sql, params = "SELECT * FROM sources WHERE collection = ? ORDER BY path", [collection]
        with self.jobdb.reading() as conn:
            return [_source(row) for row in conn.execute(sql, params)]

    def offline_folder(self, path: Path) -> str | None:
        """The folder of a source (of any collection: copies follow their source's) that holds ``path`` when it
        cannot be read now (marked offline, or missing: a drive not mounted), else None."""
        for source in self.list():
            if path.is_relative_to(source.path) and (source.offline or not os.path.isdir(source.path)):
                return source.path
        return None

    def edit(self, source_id: str, changes: dict[str, Any]) -> Source | None:
        """Set the EDITABLE fields given in `changes`; None when there is no such source."""
        values = {key: json.dumps(value) if key == "exclude" else value
                  for key, value in changes.items() if key in EDITABLE}
        if values:
            assignments = ", ".join(f"{key} = ?" for key in values)
            with self.jobdb.writing() as conn:
                conn.execute(f"UPDATE sources SET {assignments} WHERE source_id = ?", (*values.values(), source_id))
        return self.get(source_id)

    def set_offline(self, source_id: str, reason: str | None) -> None:
        with self.jobdb.writing(check_disk=False) as conn:
            conn.execute("UPDATE sources SET offline = ? WHERE source_id = ?", (reason, source_id))

    def synced(self, source_id: str, job_id: str) -> None:
        with self.jobdb.writing(check_disk=False) as conn:
            conn.execute("UPDATE sources SET last_sync_at = ?, last_job_id = ? WHERE source_id = ?",
                         (_now(), job_id, source_id))

    def started(self, source_id: str, job_id: str) -> None:
        with self.jobdb.writing() as conn:
            conn.execute("UPDATE sources SET last_job_id = ? WHERE source_id = ?", (job_id, source_id))

    def remove(self, source_id: str) -> bool:
        with self.jobdb.writing(check_disk=False) as conn:
            return conn.execute("DELETE FROM sources WHERE source_id = ?", (source_id,)).rowcount > 0

    def drop_collection(self, collection: str) -> int:
        """Forget the collection's sources, what the job store mirrors of its points, and its failed files."""
        IndexedFiles(self.jobdb).drop_collection(collection)
        FailedFiles(self.jobdb).drop_collection(collection)
        with self.jobdb.writing(check_disk=False) as conn:
            return conn.execute("DELETE FROM sources WHERE collection = ?", (collection,)).rowcount
