"""Rows of the job store's tables → the types it answers with (`models`)."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime

from sightline.ingest.jobdb.models import FileRecord, Job, JobCounts


def _seconds_between(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


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


def job_from_row(row: sqlite3.Row, counts: JobCounts, now: str) -> Job:
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


def file_from_row(row: sqlite3.Row) -> FileRecord:
    return FileRecord(row["path"], row["size"], row["mtime"], row["state"], row["point_id"], row["sha256"])
