"""`FailedFiles`: the `failed_files` table of the job store, the files a source's sync could not read for a
reason a retry cannot mend (a truncated JPEG, an unsupported format: `errors.is_retriable` says no), with the
size and mtime they had then and the job whose errors name them.

A sync keeps such a file out while its size and mtime stay so (counted "skipped" and logged),
so one broken file does not end every sync "completed with errors"; a changed file is tried again. After each
run of a sync job (`record_job`) every file it processed loses its row, and those that failed again for a
reason that lasts get one; a file stored by any job, or gone from its folder, is forgotten by the next sync.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from sightline.ingest.jobdb.indexed import RANGE, under
from sightline.ingest.jobdb.store import JobStore

FailedStat = tuple[int | None, float | None]  # (size, mtime in seconds) as the sync's `files` row has them


class FailedFile(NamedTuple):
    path: str
    job_id: str
    code: str
    message: str


_FORGET_PROCESSED = (  # one look-up in the job's (job, path) index per remembered file: a big job costs nothing
    "DELETE FROM failed_files WHERE collection = :collection AND EXISTS "
    "(SELECT 1 FROM files WHERE job = :seq AND path = failed_files.path AND state != 'pending')")
_REMEMBER_FAILED = (  # each failed file's last error, when a retry cannot mend it
    "INSERT OR REPLACE INTO failed_files SELECT :collection, f.path, f.size, f.mtime, :job_id, e.code, e.message "
    "FROM files f JOIN job_errors e ON e.id = (SELECT MAX(id) FROM job_errors WHERE job = f.job AND path = f.path) "
    "WHERE f.job = :seq AND f.state = 'failed' AND e.retriable = 0")


class FailedFiles:
    """Every method commits on return; blocking (run it in a thread from async code)."""

    def __init__(self, jobdb: JobStore):
        self.jobdb = jobdb

    def record_job(self, job_id: str) -> int:
        """After a run of the sync job `job_id`: forget the files it processed, remember those that failed for
        good. Returns how many it remembers."""
        with self.jobdb.writing() as conn:
            row = conn.execute("SELECT seq, collection FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
            if row is None:
                return 0
            names = {"seq": row[0], "collection": row[1], "job_id": job_id}
            conn.execute(_FORGET_PROCESSED, names)
            return conn.execute(_REMEMBER_FAILED, names).rowcount

    def known(self, collection: str, folder: str) -> dict[str, FailedStat]:
        """path → (size, mtime s) of the files under `folder` that failed for good."""
        with self.jobdb.reading() as conn:
            cursor = conn.execute(f"SELECT path, size, mtime FROM failed_files WHERE {RANGE}",
                                  (collection, *under(folder)))
            cursor.row_factory = None
            return {path: (size, mtime) for path, size, mtime in cursor}

    def count(self, collection: str, folder: str) -> int:
        with self.jobdb.reading() as conn:
            return conn.execute(f"SELECT COUNT(*) FROM failed_files WHERE {RANGE}",
                                (collection, *under(folder))).fetchone()[0]

    def listed(self, collection: str, folder: str, limit: int = 20) -> list[FailedFile]:
        """Up to `limit` of them, the newest job's first, then by path."""
        with self.jobdb.reading() as conn:
            rows = conn.execute(
                f"SELECT path, job_id, code, message FROM failed_files WHERE {RANGE} ORDER BY "
                "(SELECT seq FROM jobs WHERE jobs.job_id = failed_files.job_id) DESC, path LIMIT ?",
                (collection, *under(folder), limit)).fetchall()
        return [FailedFile(*row) for row in rows]

    def forget(self, collection: str, paths: Iterable[str]) -> None:
        """Drop the rows of `paths` (their file is stored now, or gone)."""
        with self.jobdb.writing(check_disk=False) as conn:
            conn.executemany("DELETE FROM failed_files WHERE collection = ? AND path = ?",
                             ((collection, path) for path in paths))

    def drop_folder(self, collection: str, folder: str) -> int:
        """Forget the files under `folder` (its source is removed); returns how many."""
        with self.jobdb.writing(check_disk=False) as conn:
            return conn.execute(f"DELETE FROM failed_files WHERE {RANGE}", (collection, *under(folder))).rowcount

    def drop_collection(self, collection: str) -> None:
        with self.jobdb.writing(check_disk=False) as conn:
            conn.execute("DELETE FROM failed_files WHERE collection = ?", (collection,))

