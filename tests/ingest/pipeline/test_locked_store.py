"""A job database locked by another process mid-job (a real second SQLite connection holding BEGIN EXCLUSIVE),
or on a full disk: the run waits it out, or fails with a retriable error; it never ends "completed" with files
pending."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from sightline.ingest.jobdb import JobStore
from sightline.ingest.pipeline import JobRun
from sightline.ingest.vectors import VectorStore
from tests.ingest.pipeline.conftest import (
    FAKE_MODEL,
    create_collection,
    fake_ml,
    fake_result,
    pipeline_settings,
    small_disk,
)
from tests.samples import distinct_image

COLLECTION = "locked"


async def until(predicate: Callable[[], object], what: str, timeout: float = 30.0) -> None:
    """Polls `predicate` on the event loop (the run goes on meanwhile) until it is truthy."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


@pytest.fixture
def jobdb(tmp_path: Path) -> Iterator[JobStore]:
    with JobStore(tmp_path / "jobs.db", busy_timeout_s=0.05) as store:
        yield store


@pytest.fixture
def other(tmp_path: Path, jobdb: JobStore) -> Iterator[sqlite3.Connection]:
    """Another process's connection to the job database."""
    conn = sqlite3.connect(tmp_path / "jobs.db", isolation_level=None)
    yield conn
    if conn.in_transaction:
        conn.execute("ROLLBACK")
    conn.close()


def start_run(jobdb: JobStore, vectors: VectorStore, tmp_path: Path, other: sqlite3.Connection | None,
              seed: int) -> tuple[JobRun, asyncio.Task]:
    """A scan of 4 photos, one per batch; the ML call of the second batch locks the job database (`other`)."""
    create_collection(vectors, FAKE_MODEL, COLLECTION)
    folder = tmp_path / "photos"
    folder.mkdir()
    for offset in range(4):
        (folder / f"{offset}.jpg").write_bytes(distinct_image(seed + offset, fmt="JPEG"))
    calls = 0

    async def embed(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 2 and other is not None:
            other.execute("BEGIN EXCLUSIVE")
        return httpx.Response(200, json={"results": [fake_result()]})

    job = jobdb.create_job(COLLECTION, "scan", str(folder))
    settings = pipeline_settings(tmp_path, ml_batch_size=1, batches_in_flight=1)
    run = JobRun(job, jobdb, vectors, fake_ml(embed), settings)
    return run, asyncio.create_task(run.run(rescan=True))


async def test_a_lock_released_in_time_is_waited_out(
    jobdb: JobStore, vectors: VectorStore, tmp_path: Path, other: sqlite3.Connection,
    caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "sightline.pipeline")
    run, task = start_run(jobdb, vectors, tmp_path, other, 800)
    await until(lambda: any("busy (locked by another process)" in r.getMessage() for r in caplog.records),
                "a busy store")
    other.execute("ROLLBACK")
    await task
    job = jobdb.get_job(run.job_id)
    assert job is not None
    assert (job.state, job.counts.done, job.counts.pending, job.error) == ("completed", 4, 0, None)


async def test_a_lock_held_too_long_fails_the_job_with_files_pending_and_a_retry_finishes_it(
    jobdb: JobStore, vectors: VectorStore, tmp_path: Path, other: sqlite3.Connection
) -> None:
    run, task = start_run(jobdb, vectors, tmp_path, other, 810)
    run.store_patience_s = 0.2
    await until(lambda: run.fatal is not None, "the batch's error collected")
    other.execute("ROLLBACK")  # the run can write its final state again
    await task
    job = jobdb.get_job(run.job_id)
    assert job is not None and job.error is not None
    assert (job.state, job.error["code"], job.counts.done, job.counts.pending) == ("failed", "STORE_FAILED", 1, 3)
    jobdb.retry_failed(run.job_id)
    again = JobRun(jobdb.get_job(run.job_id), jobdb, vectors, run.ml, run.settings)  # type: ignore[arg-type]
    await again.run(rescan=False)
    job = jobdb.get_job(run.job_id)
    assert job is not None  # the batch whose outcome was lost is found stored by this job: embedded, not unchanged
    assert (job.state, job.counts.done, job.counts.skipped, job.counts.pending) == ("completed", 4, 0, 0)


async def test_a_job_waits_for_space_on_a_full_disk_and_goes_on_by_itself(
    vectors: VectorStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "sightline.pipeline")
    with small_disk(tmp_path / "small", "128m") as resize:
        with JobStore(tmp_path / "small" / "jobs.db") as jobdb:
            run, task = start_run(jobdb, vectors, tmp_path, None, 820)
            resize("16m")  # under the 64 MiB the store keeps free: its writes answer DISK_FULL
            await until(lambda: any("DISK_FULL" in r.getMessage() for r in caplog.records), "a full disk")
            resize("128m")
            await task
            job = jobdb.get_job(run.job_id)
            assert job is not None and (job.state, job.counts.done, job.counts.pending) == ("completed", 4, 0)
