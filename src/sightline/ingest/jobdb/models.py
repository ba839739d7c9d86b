"""What the job store holds and answers with: states, jobs, file records, errors and log lines."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal, get_args

from sightline.errors import ErrorCode, SightlineError

JobState = Literal["queued", "running", "completed", "completed_with_errors", "failed", "cancelled"]
FileState = Literal["pending", "done", "cached", "skipped", "failed", "moved", "removed"]
JobKind = Literal["scan", "upload", "sync"]  # sync: a source's folder brought in line with its points

JOB_STATES: frozenset[str] = frozenset(get_args(JobState))
FILE_STATES: frozenset[str] = frozenset(get_args(FileState))
JOB_KINDS: frozenset[str] = frozenset(get_args(JobKind))
TERMINAL_STATES: frozenset[str] = frozenset({"completed", "completed_with_errors", "failed", "cancelled"})
ACTIVE_STATES = ("queued", "running")


@dataclass
class JobCounts:
    """done = newly embedded and stored; cached = stored by reusing an earlier result for identical content;
    skipped = unchanged since the last ingest; moved = a file found under a new path with the content of a point
    whose file is gone (the point follows it, no embedding); removed = a file gone from its source (point removed)."""

    total: int = 0
    done: int = 0
    cached: int = 0
    skipped: int = 0
    failed: int = 0
    moved: int = 0
    removed: int = 0
    pending: int = 0

    @property
    def processed(self) -> int:
        return self.done + self.cached + self.skipped + self.failed + self.moved + self.removed


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

    @property
    def percent(self) -> int | None:
        """Whole percent of the files processed; None while the total is not known yet (a scan in progress),
        100 for a finished job without files."""
        if self.counts.total:
            return min(100, self.counts.processed * 100 // self.counts.total)
        return 100 if self.is_terminal else None

    def to_dict(self) -> dict:
        return {
            "job_id": self.job_id,
            "collection": self.collection,
            "kind": self.kind,
            "source": self.source,
            "options": self.options,
            "state": self.state,
            "is_terminal": self.is_terminal,
            "counts": asdict(self.counts),
            "processed": self.counts.processed,
            "percent": self.percent,
            "images_per_second": self.images_per_second,
            "eta_seconds": self.eta_seconds,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "error": self.error,
        }


@dataclass
class JobError:
    """The error of one file of a job; `retriable` is decided by `sightline.errors.is_retriable`."""

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


def check_value(value: str, allowed: frozenset[str], what: str) -> None:
    if value not in allowed:
        raise ValueError(f"invalid {what} {value!r}; expected one of {sorted(allowed)}")


class JobStoreBusy(SightlineError):
    """The database stayed locked (by another process) longer than the store waits; worth trying again."""

    def __init__(self, path: object, cause: Exception):
        super().__init__(ErrorCode.STORE_FAILED, f"the job database {path} is busy (locked by another "
                         f"process): {cause}; try again", where="job_store", status=503)


class JobStoreDamaged(SightlineError):
    """The job database file cannot be opened as SQLite (garbage, truncated, another kind of file)."""

    def __init__(self, path: object, cause: Exception):
        super().__init__(ErrorCode.STORE_FAILED, f"the job database {path} cannot be opened ({cause}); move the "
                         "file aside (the job history starts empty) or restore a backup", where="job_store",
                         status=503)
