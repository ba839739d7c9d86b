"""The durable job store of the ingestion service: jobs, per-file state, errors and log lines in SQLite.

One file (`<data_dir>/sightline.db`), WAL mode, one commit per operation, so a process killed at any moment
loses at most the operation in flight. One connection shared by every thread, guarded by a lock: writes are
short (bulk ones use `executemany` in one transaction), and a single connection can never see
"database is locked" from its own threads.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal, get_args

from sightline.errors import ErrorCode, SightlineError, utc_now

__all__ = [
    "FILE_STATES",
    "JOB_STATES",
    "TERMINAL_STATES",
    "FileRecord",
    "FileState",
    "Job",
    "JobCounts",
    "JobError",
    "JobNotFound",
    "JobState",
    "JobStore",
    "LogLine",
]

JobState = Literal["queued", "running", "completed", "completed_with_errors", "failed", "cancelled"]
FileState = Literal["pending", "done", "cached", "skipped", "failed"]
JobKind = Literal["scan", "upload"]

JOB_STATES: frozenset[str] = frozenset(get_args(JobState))
FILE_STATES: frozenset[str] = frozenset(get_args(FileState))
TERMINAL_STATES: frozenset[str] = frozenset({"completed", "completed_with_errors", "failed", "cancelled"})
_ACTIVE_STATES = ("queued", "running")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id         TEXT NOT NULL UNIQUE,
    collection     TEXT NOT NULL,
    kind           TEXT NOT NULL,
    source         TEXT NOT NULL,
    options        TEXT NOT NULL,
    state          TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    started_at     TEXT,
    finished_at    TEXT,
    error          TEXT,
    run_started_at TEXT,                       -- start of the current (or last) running period
    run_base       INTEGER NOT NULL DEFAULT 0, -- files already processed when that period began
    version        INTEGER NOT NULL DEFAULT 0  -- bumped by every write that touches the job
);
CREATE INDEX IF NOT EXISTS jobs_collection ON jobs (collection);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state);

CREATE TABLE IF NOT EXISTS files (
    id       INTEGER PRIMARY KEY,
    job      INTEGER NOT NULL,
    path     TEXT NOT NULL,
    size     INTEGER,
    mtime    REAL,
    state    TEXT NOT NULL,
    point_id TEXT,
    sha256   TEXT,
    UNIQUE (job, path)
);
CREATE INDEX IF NOT EXISTS files_job_state ON files (job, state);

CREATE TABLE IF NOT EXISTS job_errors (
    id        INTEGER PRIMARY KEY,
    job       INTEGER NOT NULL,
    path      TEXT NOT NULL,
    stage     TEXT NOT NULL,
    code      TEXT NOT NULL,
    message   TEXT NOT NULL,
    retriable INTEGER NOT NULL,
    at        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS job_errors_job_path ON job_errors (job, path);

CREATE TABLE IF NOT EXISTS job_logs (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    job     INTEGER NOT NULL,
    at      TEXT NOT NULL,
    level   TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS job_logs_job ON job_logs (job, id);
"""

_SCHEMA_VERSION = 1

_COUNTED_STATES = ("done", "cached", "skipped", "failed", "pending")
_COUNTS_SQL = "SELECT " + ", ".join(
    f"(SELECT COUNT(*) FROM files WHERE job = :job AND state = '{state}')" for state in _COUNTED_STATES
)


@dataclass
class JobCounts:
    """done = newly embedded and stored; cached = stored by reusing an earlier result for identical content;
    skipped = unchanged since the last ingest."""

    total: int = 0
    done: int = 0
    cached: int = 0
    skipped: int = 0
    failed: int = 0
    pending: int = 0

    @property
    def processed(self) -> int:
        return self.done + self.cached + self.skipped + self.failed


@dataclass
class Job:
    job_id: str
    collection: str
    kind: JobKind
    source: str
    options: dict
    state: JobState
    counts: JobCounts
    created_at: str
    started_at: str | None
    finished_at: str | None
    error: dict | None
    images_per_second: float | None
    eta_seconds: float | None

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL_STATES

    def to_dict(self) -> dict:
        return {
            "job_id": self.job_id,
            "collection": self.collection,
            "kind": self.kind,
            "source": self.source,
            "options": self.options,
            "state": self.state,
            "counts": asdict(self.counts),
            "images_per_second": self.images_per_second,
            "eta_seconds": self.eta_seconds,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "error": self.error,
        }


@dataclass
class JobError:
    id: int
    job_id: str
    path: str
    stage: str
    code: str
    message: str
    retriable: bool
    at: str

    def to_dict(self) -> dict:
        return {
            "path": self.path,
            "stage": self.stage,
            "code": self.code,
            "message": self.message,
            "retriable": self.retriable,
            "at": self.at,
        }


@dataclass
class LogLine:
    id: int
    job_id: str
    at: str
    level: str
    message: str

    def to_dict(self) -> dict:
        return {"id": self.id, "at": self.at, "level": self.level, "message": self.message}


@dataclass
class FileRecord:
    path: str
    size: int | None
    mtime: float | None
    state: FileState
    point_id: str | None
    sha256: str | None


class JobNotFound(SightlineError):
    """Raised by every method that writes to, or counts for, a job that does not exist."""

    def __init__(self, job_id: str):
        super().__init__(ErrorCode.NOT_FOUND, f"no job with id {job_id!r}", where="job_id", status=404)
        self.job_id = job_id


def _now() -> str:
    return utc_now().isoformat(timespec="microseconds").replace("+00:00", "Z")


def _seconds_between(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def _check(value: str, allowed: frozenset[str], what: str) -> None:
    if value not in allowed:
        raise ValueError(f"invalid {what} {value!r}; expected one of {sorted(allowed)}")


def _placeholders(n: int) -> str:
    return ",".join("?" * n)


def _throughput(row: sqlite3.Row, counts: JobCounts, now: str) -> tuple[float | None, float | None]:
    """Files processed per second over the current (or last) running period, and the time left.

    None while nothing has been processed in that period (unknown), and for a queued job.
    The ETA is only given while running.
    """
    state, run_started_at = row["state"], row["run_started_at"]
    if state == "queued" or run_started_at is None:
        return None, None
    end = now if state == "running" else (row["finished_at"] or now)
    elapsed = _seconds_between(run_started_at, end)
    processed = counts.processed - row["run_base"]
    if elapsed <= 0 or processed <= 0:
        return None, None
    rate = processed / elapsed
    eta = counts.pending / rate if state == "running" else None
    return rate, eta


def _job_from_row(row: sqlite3.Row, counts: JobCounts, now: str) -> Job:
    rate, eta = _throughput(row, counts, now)
    return Job(
        job_id=row["job_id"],
        collection=row["collection"],
        kind=row["kind"],
        source=row["source"],
        options=json.loads(row["options"]),
        state=row["state"],
        counts=counts,
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        error=json.loads(row["error"]) if row["error"] else None,
        images_per_second=rate,
        eta_seconds=eta,
    )


def _file_from_row(row: sqlite3.Row) -> FileRecord:
    return FileRecord(row["path"], row["size"], row["mtime"], row["state"], row["point_id"], row["sha256"])


class JobStore:
    """Thread-safe store of jobs and their files, errors and log lines. Every method commits on return."""

    def __init__(self, db_path: Path):
        self.db_path = Path(db_path)
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        # timeout: how long to wait for another process's write lock (the CLI may open the file too).
        self._conn = sqlite3.connect(self.db_path, check_same_thread=False, isolation_level=None, timeout=30.0)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode loses nothing when the process dies; only an OS crash can drop the last commits.
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA cache_size=-32768")  # 32 MiB: bulk inserts into the indexes stay in memory
        with self._write() as conn:
            self._create_schema(conn)

    @staticmethod
    def _create_schema(conn: sqlite3.Connection) -> None:
        # Statement by statement: executescript() would commit the surrounding transaction.
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> JobStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing ---------------------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction; the lock keeps other threads of this process out meanwhile."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot across several SELECTs."""
        with self._lock:
            self._conn.execute("BEGIN")
            try:
                yield self._conn
            finally:
                self._conn.execute("COMMIT")

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

    @staticmethod
    def _counts_by_seq(conn: sqlite3.Connection, seqs: Sequence[int]) -> dict[int, JobCounts]:
        # One COUNT per state over the covering (job, state) index: about twice as fast as GROUP BY state.
        result = {}
        for seq in seqs:
            by_state = dict(zip(_COUNTED_STATES, conn.execute(_COUNTS_SQL, {"job": seq}).fetchone()))
            result[seq] = JobCounts(total=sum(by_state.values()), **by_state)
        return result

    def _jobs_from_rows(self, conn: sqlite3.Connection, rows: list[sqlite3.Row]) -> list[Job]:
        counts = self._counts_by_seq(conn, [row["seq"] for row in rows])
        now = _now()
        return [_job_from_row(row, counts[row["seq"]], now) for row in rows]

    def _get(self, conn: sqlite3.Connection, job_id: str) -> Job | None:
        row = conn.execute("SELECT * FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        return self._jobs_from_rows(conn, [row])[0] if row else None

    # -- jobs -------------------------------------------------------------------------------------------

    def create_job(self, collection: str, kind: str, source: str, options: dict | None = None) -> Job:
        _check(kind, frozenset(get_args(JobKind)), "job kind")
        job_id = uuid.uuid4().hex
        with self._write() as conn:
            conn.execute(
                "INSERT INTO jobs (job_id, collection, kind, source, options, state, created_at) "
                "VALUES (?, ?, ?, ?, ?, 'queued', ?)",
                (job_id, collection, kind, source, json.dumps(options or {}), _now()),
            )
            return self._get(conn, job_id)  # type: ignore[return-value]

    def get_job(self, job_id: str) -> Job | None:
        with self._read() as conn:
            return self._get(conn, job_id)

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
        with self._read() as conn:
            rows = conn.execute(sql, (*params, limit, offset)).fetchall()
            return self._jobs_from_rows(conn, rows)

    def set_state(self, job_id: str, state: JobState, *, error: dict | None = None) -> Job:
        """Move a job to `state`.

        Entering "running" stamps started_at the first time and opens a new running period (throughput is
        measured over it). Entering a terminal state stamps finished_at; leaving one clears it. Entering
        "queued" or "running" clears the job-level error; `error` sets it.
        """
        _check(state, JOB_STATES, "job state")
        now = _now()
        with self._write() as conn:
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
            if error is not None or state in _ACTIVE_STATES:
                conn.execute(
                    "UPDATE jobs SET error = ? WHERE seq = ?",
                    (json.dumps(error) if error is not None else None, seq),
                )
            return self._get(conn, job_id)  # type: ignore[return-value]

    def unfinished_jobs(self) -> list[Job]:
        """Queued or running jobs, oldest first (to resume them on start-up)."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT * FROM jobs WHERE state IN ('queued', 'running') ORDER BY seq"
            ).fetchall()
            return self._jobs_from_rows(conn, rows)

    def mark_interrupted_running_as_queued(self) -> int:
        """At start-up: jobs left "running" by a killed process go back to "queued". Returns how many."""
        now = _now()
        with self._write() as conn:
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
        with self._write() as conn:
            seqs = [(r[0],) for r in conn.execute("SELECT seq FROM jobs WHERE collection = ?", (collection,))]
            for table in ("files", "job_errors", "job_logs"):
                conn.executemany(f"DELETE FROM {table} WHERE job = ?", seqs)
            conn.executemany("DELETE FROM jobs WHERE seq = ?", seqs)
            return len(seqs)

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
        with self._write() as conn:
            seq = self._touch(conn, job_id)
            before = conn.total_changes
            conn.executemany(
                "INSERT OR IGNORE INTO files (job, path, size, mtime, state) VALUES (?, ?, ?, ?, 'pending')",
                ((seq, path, size, mtime) for path, size, mtime in files),
            )
            return conn.total_changes - before

    def pending_files(self, job_id: str, limit: int | None = None) -> list[FileRecord]:
        """Pending files in insertion order."""
        with self._lock:
            seq = self._seq(self._conn, job_id)
            rows = self._conn.execute(
                "SELECT * FROM files WHERE job = ? AND state = 'pending' ORDER BY id LIMIT ?",
                (seq, -1 if limit is None else limit),
            ).fetchall()
        return [_file_from_row(r) for r in rows]

    def files(
        self, job_id: str, *, state: FileState | None = None, limit: int = 1000, offset: int = 0
    ) -> list[FileRecord]:
        """The job's files in insertion order, optionally only those in one state."""
        if state is not None:
            _check(state, FILE_STATES, "file state")
        sql = "SELECT * FROM files WHERE job = ?" + (" AND state = ?" if state else "")
        with self._lock:
            seq = self._seq(self._conn, job_id)
            params = (seq, state) if state else (seq,)
            rows = self._conn.execute(sql + " ORDER BY id LIMIT ? OFFSET ?", (*params, limit, offset)).fetchall()
        return [_file_from_row(r) for r in rows]

    def mark_files(self, job_id: str, updates: Iterable[tuple[str, FileState, str | None, str | None]]) -> None:
        """Set (path, state, point_id, sha256) in one transaction.

        A None point_id or sha256 keeps the value already recorded. Paths not in the job are ignored.
        """
        rows = list(updates)
        for _, state, _, _ in rows:
            _check(state, FILE_STATES, "file state")
        with self._write() as conn:
            seq = self._touch(conn, job_id)
            conn.executemany(
                "UPDATE files SET state = ?, point_id = COALESCE(?, point_id), sha256 = COALESCE(?, sha256) "
                "WHERE job = ? AND path = ?",
                ((state, point_id, sha256, seq, path) for path, state, point_id, sha256 in rows),
            )

    def counts(self, job_id: str) -> JobCounts:
        with self._lock:
            seq = self._seq(self._conn, job_id)
            return self._counts_by_seq(self._conn, [seq])[seq]

    def retry_failed(self, job_id: str) -> int:
        """Failed files go back to pending and lose their errors; a finished job goes back to "queued"
        (finished_at and the job-level error cleared). A queued or running job keeps its state.
        Returns how many files were reset."""
        with self._write() as conn:
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

    def record_errors(self, job_id: str, errors: Iterable[tuple[str, str, str, str, bool]]) -> None:
        """Record (path, stage, code, message, retriable) per-file errors."""
        at = _now()
        with self._write() as conn:
            seq = self._touch(conn, job_id)
            conn.executemany(
                "INSERT INTO job_errors (job, path, stage, code, message, retriable, at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                ((seq, path, stage, str(code), message, bool(retriable), at)
                 for path, stage, code, message, retriable in errors),
            )

    def errors(self, job_id: str, *, limit: int = 1000, offset: int = 0) -> list[JobError]:
        with self._lock:
            seq = self._seq(self._conn, job_id)
            rows = self._conn.execute(
                "SELECT * FROM job_errors WHERE job = ? ORDER BY id LIMIT ? OFFSET ?", (seq, limit, offset)
            ).fetchall()
        return [
            JobError(r["id"], job_id, r["path"], r["stage"], r["code"], r["message"], bool(r["retriable"]), r["at"])
            for r in rows
        ]

    def log(self, job_id: str, message: str, level: str = "info") -> LogLine:
        at = _now()
        with self._write() as conn:
            seq = self._touch(conn, job_id)
            cursor = conn.execute(
                "INSERT INTO job_logs (job, at, level, message) VALUES (?, ?, ?, ?)", (seq, at, level, message)
            )
            return LogLine(cursor.lastrowid or 0, job_id, at, level, message)

    def logs(self, job_id: str, *, after_id: int = 0, limit: int = 500) -> list[LogLine]:
        """Log lines with id > after_id, oldest first."""
        with self._lock:
            seq = self._seq(self._conn, job_id)
            rows = self._conn.execute(
                "SELECT * FROM job_logs WHERE job = ? AND id > ? ORDER BY id LIMIT ?", (seq, after_id, limit)
            ).fetchall()
        return [LogLine(r["id"], job_id, r["at"], r["level"], r["message"]) for r in rows]
