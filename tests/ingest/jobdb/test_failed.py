"""`FailedFiles`: the files a source's sync could not read for good, remembered per run of a sync job."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sightline.ingest.jobdb import JobStore
from sightline.ingest.jobdb._schema import SCHEMA_VERSION
from sightline.ingest.jobdb.failed import FailedFile, FailedFiles


def sync_job(jobdb: JobStore, outcomes: dict[str, str | None]) -> str:
    """A sync job over /lib whose files ended so: a code (failed with it) or None (stored)."""
    job_id = jobdb.create_job("photos", "sync", "/lib", {}).job_id
    jobdb.add_files(job_id, [(path, 10, 1.5) for path in outcomes])
    jobdb.record_errors(job_id, [(path, "decode", code, f"{code} here") for path, code in outcomes.items() if code])
    jobdb.mark_files(job_id, [(path, "failed" if code else "done", None, None) for path, code in outcomes.items()])
    return job_id


def test_only_failures_a_retry_cannot_mend_are_remembered(tmp_path: Path) -> None:
    with JobStore(tmp_path / "jobs.db") as jobdb:
        failed = FailedFiles(jobdb)
        job_id = sync_job(jobdb, {"/lib/bad.jpg": "DECODE_FAILED", "/lib/later.jpg": "ML_ITEM_FAILED",
                                  "/lib/good.jpg": None})
        assert failed.record_job(job_id) == 1
        assert failed.known("photos", "/lib") == {"/lib/bad.jpg": (10, 1.5)}
        assert failed.listed("photos", "/lib") == [FailedFile("/lib/bad.jpg", job_id, "DECODE_FAILED",
                                                              "DECODE_FAILED here")]
        assert (failed.count("photos", "/lib"), failed.count("photos", "/lib2"), failed.count("other", "/lib")) == (
            1, 0, 0)


def test_a_file_read_by_a_later_run_is_forgotten_and_the_newest_job_is_listed_first(tmp_path: Path) -> None:
    with JobStore(tmp_path / "jobs.db") as jobdb:
        failed = FailedFiles(jobdb)
        first = sync_job(jobdb, {"/lib/a.jpg": "DECODE_FAILED", "/lib/b.jpg": "DECODE_FAILED"})
        failed.record_job(first)
        second = sync_job(jobdb, {"/lib/b.jpg": None, "/lib/c.jpg": "UNSUPPORTED_FORMAT"})
        assert failed.record_job(second) == 1
        assert [(item.path, item.job_id) for item in failed.listed("photos", "/lib")] == [
            ("/lib/c.jpg", second), ("/lib/a.jpg", first)]
        assert failed.drop_folder("photos", "/lib") == 2 and failed.known("photos", "/lib") == {}


def test_a_version_3_file_gains_the_failed_files(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    with JobStore(path) as jobdb, jobdb.writing() as conn:
        conn.execute("DROP TABLE failed_files")
        conn.execute("PRAGMA user_version=3")
    with JobStore(path) as jobdb:
        with jobdb.reading() as conn:
            assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
        assert FailedFiles(jobdb).count("photos", "/lib") == 0
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
