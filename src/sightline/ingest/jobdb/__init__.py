"""The durable job store of the ingestion service: jobs, per-file state, errors and log lines in SQLite.

One file (`<data_dir>/sightline.db`), WAL mode, one commit per operation, so a process killed at any moment
loses at most the operation in flight. One connection shared by every thread, guarded by a lock: writes are
short (bulk ones use `executemany` in one transaction), and a single connection can never see
"database is locked" from its own threads.

`models` holds the types answered with, `store` the `JobStore` and its queries, `_schema` the tables.
"""

from sightline.ingest.jobdb.models import (
    FILE_STATES,
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
)
from sightline.ingest.jobdb.store import JobStore

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
    "JobStoreBusy",
    "JobStoreDamaged",
    "LogLine",
]
