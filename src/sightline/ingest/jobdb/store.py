"""`JobStore`: the SQLite file, its one connection, and every query of jobs, files, errors and log lines."""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from pathlib import Path

from sightline.errors import ErrorCode, SightlineError, is_retriable, utc_now
from sightline.ingest.disk import check_free
from sightline.ingest.jobdb._rows import file_from_row, job_from_row
from sightline.ingest.jobdb._schema import COUNTED_STATES, COUNTS_SQL, create_schema
from sightline.ingest.jobdb.models import (
    ACTIVE_STATES,
    FILE_STATES,
    JOB_KINDS,
    JOB_STATES,
    TERMINAL_STATES,
    FileRecord,
    FileState,
    Job,
    JobCounts,
    JobError,
    JobNotFound,
    JobState,
    JobStoreBusy,
    JobStoreDamaged,
    LogLine,
    check_value,
)

Clock = Callable[[], datetime]
MIN_ID_PREFIX = 6  # the UI shows 8
HEX_DIGITS = frozenset("0123456789abcdef")


def _placeholders(n: int) -> str:
    return ",".join("?" * n)


class JobStore:
    """Thread-safe store of jobs and their files, errors and log lines. Every method commits on return.

    `clock` gives every time stamp (and the "now" of throughput figures); tests pass a fake one.
    """

    def __init__(self, db_path: Path, clock: Clock = utc_now, *, busy_timeout_s: float = 30.0):
        """`busy_timeout_s`: how long one operation waits for another process's write lock (the CLI may open
        the file too) before it raises `JobStoreBusy`. A file that is no SQLite database: `JobStoreDamaged`."""
        self.db_path = Path(db_path)
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(self.db_path, check_same_thread=False, isolation_level=None,
                                     timeout=busy_timeout_s)
        self._conn.row_factory = sqlite3.Row
        try:
            self._conn.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode loses nothing when the process dies; only an OS crash can drop the last commits.
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA cache_size=-32768")  # 32 MiB: bulk inserts into the indexes stay in memory
            with self.writing(check_disk=False) as conn:
                create_schema(conn)
        except JobStoreBusy:
            self._conn.close()
            raise
        except sqlite3.DatabaseError as exc:  # "file is not a database", "database disk image is malformed"
            self._conn.close()
            raise JobStoreDamaged(self.db_path, exc) from None

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> JobStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing ---------------------------------------------------------------------------------------

    def _now(self) -> str:
        return self._clock().isoformat(timespec="microseconds").replace("+00:00", "Z")

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[sqlite3.Connection]:
        """One transaction on the shared connection; the lock keeps this process's other threads out.
        A lock held by another process past the busy timeout: `JobStoreBusy`, with nothing written."""
        with self._lock:
            try:
                self._conn.execute(begin)
                try:
                    yield self._conn
                    self._conn.execute("COMMIT")
                except BaseException:
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                    raise
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc) or "busy" in str(exc):
                    raise JobStoreBusy(self.db_path, exc) from None
                raise

    def writing(self, *, check_disk: bool = True) -> AbstractContextManager[sqlite3.Connection]:
        """A short write transaction, holding the database's write lock from its start. `DISK_FULL` (507) first
        when the disk is (nearly) full; the tiny writes of start-up skip that, so the service still starts."""
        if check_disk:
            check_free(self.db_path.parent)
        return self._transaction("BEGIN IMMEDIATE")

    def reading(self) -> AbstractContextManager[sqlite3.Connection]:
        """A consistent snapshot across several SELECTs."""
        return self._transaction("BEGIN")

    @staticmethod
    def _seq(conn: sqlite3.Connection, job_id: str) -> int:
        row = conn.execute("SELECT seq FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        if row is None:
            raise JobNotFound(job_id)
        return row[0]

    def _touch(self, conn: sqlite3.Connection, job_id: str) -> int:
        """Bump the job's change counter (inside the caller's transaction); return its internal key."""
        seq = self._seq(conn, job_id)
        conn.execute("UPDATE jobs SET version = version + 1 WHERE seq = ?", (seq,))
        return seq

    def _rows_of_job(self, job_id: str, sql: str, *params: object) -> list[sqlite3.Row]:
        """`sql` run with the job's internal key as its first parameter; JobNotFound if there is no such job."""
        with self.reading() as conn:
            return conn.execute(sql, (self._seq(conn, job_id), *params)).fetchall()

    @staticmethod
    def _counts_by_seq(conn: sqlite3.Connection, seqs: Sequence[int]) -> dict[int, JobCounts]:
        result = {}
        for seq in seqs:
            *counted, unchanged = conn.execute(COUNTS_SQL, {"job": seq}).fetchone()
            by_state = dict(zip(COUNTED_STATES, counted))
            by_state["skipped"] += unchanged or 0
            result[seq] = JobCounts(total=sum(by_state.values()), **by_state)
        return result

    def _jobs_from_rows(self, conn: sqlite3.Connection, rows: list[sqlite3.Row]) -> list[Job]:
        counts = self._counts_by_seq(conn, [row["seq"] for row in rows])
        now = self._now()
        return [job_from_row(row, counts[row["seq"]], now) for row in rows]

    def _get(self, conn: sqlite3.Connection, job_id: str) -> Job | None:
        row = conn.execute("SELECT * FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        return self._jobs_from_rows(conn, [row])[0] if row else None

    # -- jobs -------------------------------------------------------------------------------------------

    def create_job(self, collection: str, kind: str, source: str, options: dict | None = None) -> Job:
        check_value(kind, JOB_KINDS, "job kind")
        job_id = uuid.uuid4().hex
        with self.writing() as conn:
            conn.execute(
                "INSERT INTO jobs (job_id, collection, kind, source, options, state, created_at) "
                "VALUES (?, ?, ?, ?, ?, 'queued', ?)",
                (job_id, collection, kind, source, json.dumps(options or {}), self._now()),
            )
            return self._get(conn, job_id)  # type: ignore[return-value]

    def get_job(self, job_id: str) -> Job | None:
        with self.reading() as conn:
            return self._get(conn, job_id)

    def resolve_job_id(self, job_id: str) -> str | None:
        """The full id of the job `job_id` names: the id itself, or a unique prefix of at least
        MIN_ID_PREFIX hex characters (the short ids the UI shows), any case. None when no job matches;
        CONFLICT (409) naming the matches when several do."""
        prefix = job_id.lower()
        with self.reading() as conn:
            if conn.execute("SELECT 1 FROM jobs WHERE job_id = ?", (job_id,)).fetchone():
                return job_id
            if len(prefix) < MIN_ID_PREFIX or not set(prefix) <= HEX_DIGITS:
                return None
            matches = [row[0] for row in conn.execute(  # a range of the unique index: no LIKE, no scan
                "SELECT job_id FROM jobs WHERE job_id >= ? AND job_id < ? ORDER BY job_id LIMIT 6",
                (prefix, prefix + "g"))]
        if len(matches) > 1:
            named = ", ".join(match[:12] for match in matches[:5]) + (", ..." if len(matches) > 5 else "")
            raise SightlineError(ErrorCode.CONFLICT, f"{job_id!r} is the start of several job ids ({named}); "
                                 "give more characters.", where="job_id", status=409)
        return matches[0] if matches else None

    def list_jobs(
        self,
        *,
        collection: str | None = None,
        states: Iterable[str] | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[Job]:
        """Newest first."""
        where, params = ["1"], []
        if collection is not None:
            where.append("collection = ?")
            params.append(collection)
        if states is not None:
            state_list = list(states)
            where.append(f"state IN ({_placeholders(len(state_list))})" if state_list else "0")
            params.extend(state_list)
        sql = f"SELECT * FROM jobs WHERE {' AND '.join(where)} ORDER BY seq DESC LIMIT ? OFFSET ?"
        with self.reading() as conn:
            rows = conn.execute(sql, (*params, limit, offset)).fetchall()
            return self._jobs_from_rows(conn, rows)

    def set_state(self, job_id: str, state: JobState, *, error: dict | None = None) -> Job:
        """Move a job to `state`.

        Entering "running" stamps started_at the first time and opens a new running period (throughput is
        measured over it). Entering a terminal state stamps finished_at; leaving one clears it. Entering
        "queued" or "running" clears the job-level error; `error` sets it.
        """
        check_value(state, JOB_STATES, "job state")
        now = self._now()
        with self.writing() as conn:
            seq = self._touch(conn, job_id)
            old = conn.execute("SELECT state, finished_at FROM jobs WHERE seq = ?", (seq,)).fetchone()
            finished_at = old["finished_at"]
            if state in TERMINAL_STATES:
                finished_at = finished_at if old["state"] in TERMINAL_STATES else now
            else:
                finished_at = None
            conn.execute("UPDATE jobs SET state = ?, finished_at = ? WHERE seq = ?", (state, finished_at, seq))
            if state == "running":
                processed = self._counts_by_seq(conn, [seq])[seq].processed
                conn.execute(
                    "UPDATE jobs SET started_at = COALESCE(started_at, ?), run_started_at = ?, run_base = ? "
                    "WHERE seq = ?",
                    (now, now, processed, seq),
                )
            if error is not None or state in ACTIVE_STATES:
                conn.execute(
                    "UPDATE jobs SET error = ? WHERE seq = ?",
                    (json.dumps(error) if error is not None else None, seq),
                )
            return self._get(conn, job_id)  # type: ignore[return-value]

    def unfinished_jobs(self) -> list[Job]:
        """Queued or running jobs, oldest first (to resume them on start-up)."""
        with self.reading() as conn:
            rows = conn.execute(
                f"SELECT * FROM jobs WHERE state IN ({_placeholders(len(ACTIVE_STATES))}) ORDER BY seq",
                ACTIVE_STATES,
            ).fetchall()
            return self._jobs_from_rows(conn, rows)

    def mark_interrupted_running_as_queued(self) -> int:
        """At start-up: jobs left "running" by a killed process go back to "queued". Returns how many."""
        now = self._now()
        with self.writing(check_disk=False) as conn:
            seqs = [r[0] for r in conn.execute("SELECT seq FROM jobs WHERE state = 'running'")]
            conn.executemany(
                "UPDATE jobs SET state = 'queued', version = version + 1 WHERE seq = ?", [(s,) for s in seqs]
            )
            conn.executemany(
                "INSERT INTO job_logs (job, at, level, message) VALUES (?, ?, 'info', 'resumed after restart')",
                [(s, now) for s in seqs],
            )
            return len(seqs)

    def delete_jobs_for_collection(self, collection: str) -> int:
        """Delete the collection's jobs with their files, errors and log lines. Returns how many jobs."""
        with self.writing() as conn:
            seqs = [(r[0],) for r in conn.execute("SELECT seq FROM jobs WHERE collection = ?", (collection,))]
            for table in ("files", "job_errors", "job_logs"):
                conn.executemany(f"DELETE FROM {table} WHERE job = ?", seqs)
            conn.executemany("DELETE FROM jobs WHERE seq = ?", seqs)
            return len(seqs)

    def set_unchanged(self, job_id: str, count: int) -> None:
        """How many files a sync found unchanged (counted "skipped" without a row each)."""
        with self.writing() as conn:
            conn.execute("UPDATE jobs SET unchanged = ? WHERE seq = ?", (count, self._touch(conn, job_id)))

    def change_counter(self, job_id: str) -> int:
        """A number that grows whenever the job's state, files, errors or log lines change."""
        with self._lock:
            row = self._conn.execute("SELECT version FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        if row is None:
            raise JobNotFound(job_id)
        return row[0]

    # -- files ------------------------------------------------------------------------------------------

    def add_files(self, job_id: str, files: Iterable[tuple[str, int | None, float | None]]) -> int:
        """Add (path, size, mtime) as "pending". Paths already in the job are ignored. Returns how many added."""
        with self.writing() as conn:
            seq = self._touch(conn, job_id)
            before = conn.total_changes
            conn.executemany(
                "INSERT OR IGNORE INTO files (job, path, size, mtime, state) VALUES (?, ?, ?, ?, 'pending')",
                ((seq, path, size, mtime) for path, size, mtime in files),
            )
            return conn.total_changes - before

    def pending_files(self, job_id: str, limit: int | None = None) -> list[FileRecord]:
        """Pending files in insertion order."""
        return self.files(job_id, state="pending", limit=-1 if limit is None else limit)

    def files(
        self, job_id: str, *, state: FileState | None = None, limit: int = 1000, offset: int = 0
    ) -> list[FileRecord]:
        """The job's files in insertion order, optionally only those in one state (limit -1: all)."""
        if state is not None:
            check_value(state, FILE_STATES, "file state")
        where = "job = ? AND state = ?" if state else "job = ?"
        rows = self._rows_of_job(job_id, f"SELECT * FROM files WHERE {where} ORDER BY id LIMIT ? OFFSET ?",
                                 *((state,) if state else ()), limit, offset)
        return [file_from_row(r) for r in rows]

    def mark_files(self, job_id: str, updates: Iterable[tuple[str, FileState, str | None, str | None]]) -> None:
        """Set (path, state, point_id, sha256) in one transaction.

        A None point_id or sha256 keeps the value already recorded. Paths not in the job are ignored.
        """
        rows = list(updates)
        for _, state, _, _ in rows:
            check_value(state, FILE_STATES, "file state")
        with self.writing() as conn:
            seq = self._touch(conn, job_id)
            conn.executemany(
                "UPDATE files SET state = ?, point_id = COALESCE(?, point_id), sha256 = COALESCE(?, sha256) "
                "WHERE job = ? AND path = ?",
                ((state, point_id, sha256, seq, path) for path, state, point_id, sha256 in rows),
            )

    def counts(self, job_id: str) -> JobCounts:
        with self.reading() as conn:
            seq = self._seq(conn, job_id)
            return self._counts_by_seq(conn, [seq])[seq]

    def retry_failed(self, job_id: str) -> int:
        """Failed files go back to pending and lose their errors; a finished job goes back to "queued"
        (finished_at and the job-level error cleared). A queued or running job keeps its state.
        Returns how many files were reset."""
        with self.writing() as conn:
            seq = self._touch(conn, job_id)
            conn.execute(
                "DELETE FROM job_errors WHERE job = ? AND path IN "
                "(SELECT path FROM files WHERE job = ? AND state = 'failed')",
                (seq, seq),
            )
            reset = conn.execute(
                "UPDATE files SET state = 'pending' WHERE job = ? AND state = 'failed'", (seq,)
            ).rowcount
            conn.execute(
                "UPDATE jobs SET state = 'queued', finished_at = NULL, error = NULL "
                f"WHERE seq = ? AND state IN ({_placeholders(len(TERMINAL_STATES))})",
                (seq, *TERMINAL_STATES),
            )
            return reset

    # -- errors and log lines ---------------------------------------------------------------------------

    def record_errors(self, job_id: str, errors: Iterable[tuple[str, str, str, str]]) -> None:
        """Record (path, stage, code, message) per-file errors; their code says whether they are retriable."""
        at = self._now()
        with self.writing() as conn:
            seq = self._touch(conn, job_id)
            conn.executemany(
                "INSERT INTO job_errors (job, path, stage, code, message, retriable, at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                ((seq, path, stage, str(code), message, is_retriable(code), at)
                 for path, stage, code, message in errors),
            )

    def errors(self, job_id: str, *, limit: int = 1000, offset: int = 0) -> list[JobError]:
        rows = self._rows_of_job(job_id, "SELECT * FROM job_errors WHERE job = ? ORDER BY id LIMIT ? OFFSET ?",
                                 limit, offset)
        return [
            JobError(r["id"], job_id, r["path"], r["stage"], r["code"], r["message"], bool(r["retriable"]), r["at"])
            for r in rows
        ]

    def log(self, job_id: str, message: str, level: str = "info") -> LogLine:
        """Append a line to the job's log (the one the API and UI show)."""
        at = self._now()
        with self.writing() as conn:
            seq = self._touch(conn, job_id)
            cursor = conn.execute(
                "INSERT INTO job_logs (job, at, level, message) VALUES (?, ?, ?, ?)", (seq, at, level, message)
            )
            return LogLine(cursor.lastrowid or 0, job_id, at, level, message)

    def logs(self, job_id: str, *, after_id: int = 0, limit: int = 500) -> list[LogLine]:
        """Log lines with id > after_id, oldest first."""
        rows = self._rows_of_job(job_id, "SELECT * FROM job_logs WHERE job = ? AND id > ? ORDER BY id LIMIT ?",
                                 after_id, limit)
        return [LogLine(r["id"], job_id, r["at"], r["level"], r["message"]) for r in rows]
