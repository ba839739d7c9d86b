"""`IndexedFiles`: the `indexed_files` table of the job store, a mirror of what the vector store holds per file
(collection, path → size, mtime_ns, point id, sha256), so that a sync reads a source's stored files with one
SELECT instead of scrolling the vector store.

The mirror is written where per-file state is written after an upsert (`pipeline.write`) and where points are
removed; a reader trusts it only while its row count under a folder equals the vector store's point count there
(`sources.sync`), else rebuilds it from the store. A row without a point id is a **removal remembered**: a person
removed that file from the index while it had that size and mtime, and a sync keeps it out while it stays so.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from sightline.ingest.jobdb.store import JobStore


class Indexed(NamedTuple):  # a tuple: one per stored file, made fast
    point_id: str
    size: int | None
    mtime_ns: int | None
    sha256: str | None


def under(folder: str) -> tuple[str, str]:
    """Bounds of the text paths strictly below `folder`: prefix <= path < prefix with "/" → "0"."""
    prefix = folder.rstrip("/") + "/"
    return prefix, prefix[:-1] + "0"


RANGE = "collection = ? AND path >= ? AND path < ?"
_STORED, _REMOVED = "point_id IS NOT NULL", "point_id IS NULL"  # a row without a point is a removal remembered


class IndexedFiles:
    """Every method commits on return; blocking (run it in a thread from async code)."""

    def __init__(self, jobdb: JobStore):
        self.jobdb = jobdb

    def record(self, job_id: str, rows: Iterable[tuple[str, int | None, int | None, str, str | None]]) -> None:
        """(path, size, mtime_ns, point_id, sha256) of points just stored by the job (in the job's collection)."""
        with self.jobdb.writing() as conn:
            row = conn.execute("SELECT collection FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
            if row is not None:
                conn.executemany("INSERT OR REPLACE INTO indexed_files VALUES (?, ?, ?, ?, ?, ?)",
                                 ((row[0], *values) for values in rows))

    def count(self, collection: str, folder: str) -> int:
        """Stored points (not removals) under `folder`."""
        return self._count(collection, folder, _STORED)

    def stats(self, collection: str, folder: str) -> dict[str, tuple[int, int]]:
        """path → (size, mtime_ns) of the stored files under `folder` (plain tuples: 20,000 rows in ~40 ms)."""
        return self._sizes(collection, folder, _STORED)

    def removed(self, collection: str, folder: str) -> dict[str, tuple[int, int]]:
        """path → (size, mtime_ns) of the remembered removals under `folder`."""
        return self._sizes(collection, folder, _REMOVED)

    def _count(self, collection: str, folder: str, rows: str) -> int:
        with self.jobdb.reading() as conn:
            return conn.execute(f"SELECT COUNT(*) FROM indexed_files WHERE {RANGE} AND {rows}",
                                (collection, *under(folder))).fetchone()[0]

    def _sizes(self, collection: str, folder: str, rows: str) -> dict[str, tuple[int, int]]:
        with self.jobdb.reading() as conn:
            cursor = conn.execute(f"SELECT path, size, mtime_ns FROM indexed_files WHERE {RANGE} AND {rows}",
                                  (collection, *under(folder)))
            cursor.row_factory = None
            return {path: (size, mtime_ns) for path, size, mtime_ns in cursor}

    def points(self, collection: str, paths: Iterable[str]) -> dict[str, Indexed]:
        """The stored point of each of `paths` that has one."""
        found: dict[str, Indexed] = {}
        with self.jobdb.reading() as conn:
            for path in paths:
                row = conn.execute("SELECT point_id, size, mtime_ns, sha256 FROM indexed_files WHERE collection = ? "
                                   "AND path = ? AND point_id IS NOT NULL", (collection, path)).fetchone()
                if row is not None:
                    found[path] = Indexed(*row)
        return found

    def rebuild(self, collection: str, folder: str, stored: dict[str, Indexed]) -> None:
        """Replace the stored files under `folder` with `stored` (read from the vector store); removals stay
        unless the file is stored again."""
        with self.jobdb.writing() as conn:
            conn.execute(f"DELETE FROM indexed_files WHERE {RANGE} AND point_id IS NOT NULL",
                         (collection, *under(folder)))
            conn.executemany("INSERT OR REPLACE INTO indexed_files VALUES (?, ?, ?, ?, ?, ?)",
                             ((collection, path, known.size, known.mtime_ns, known.point_id, known.sha256)
                              for path, known in stored.items()))

    def forget(self, collection: str, paths: Iterable[str]) -> None:
        """Drop the rows of `paths` (points removed because their file is gone, removals of files gone)."""
        with self.jobdb.writing(check_disk=False) as conn:
            conn.executemany("DELETE FROM indexed_files WHERE collection = ? AND path = ?",
                             ((collection, path) for path in paths))

    def remember_removed(self, collection: str, files: Iterable[tuple[str, int | None, int | None]]) -> None:
        """(path, size, mtime_ns) that a person removed from the index: kept out of syncs while unchanged."""
        with self.jobdb.writing(check_disk=False) as conn:
            conn.executemany("INSERT OR REPLACE INTO indexed_files VALUES (?, ?, ?, ?, NULL, NULL)",
                             ((collection, *values) for values in files))

    def removed_count(self, collection: str, folder: str) -> int:
        return self._count(collection, folder, _REMOVED)

    def clear_removed(self, collection: str, folder: str) -> int:
        """Forget the removals under `folder` (the next sync brings those files back); returns how many."""
        with self.jobdb.writing(check_disk=False) as conn:
            return conn.execute(f"DELETE FROM indexed_files WHERE {RANGE} AND {_REMOVED}",
                                (collection, *under(folder))).rowcount

    def drop_folder(self, collection: str, folder: str) -> None:
        with self.jobdb.writing(check_disk=False) as conn:
            conn.execute(f"DELETE FROM indexed_files WHERE {RANGE}", (collection, *under(folder)))

    def drop_collection(self, collection: str) -> None:
        with self.jobdb.writing(check_disk=False) as conn:
            conn.execute("DELETE FROM indexed_files WHERE collection = ?", (collection,))
