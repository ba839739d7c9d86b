"""`IndexedFiles`: the job store's mirror of the stored files, and the removals a person made, per folder."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sightline.ingest.jobdb import JobStore
from sightline.ingest.jobdb._schema import SCHEMA_VERSION
from sightline.ingest.jobdb.indexed import Indexed, IndexedFiles


def test_stored_files_are_read_per_folder_and_collection(tmp_path: Path) -> None:
    with JobStore(tmp_path / "jobs.db") as jobdb:
        indexed = IndexedFiles(jobdb)
        job = jobdb.create_job("photos", "scan", "/lib", {})
        other = jobdb.create_job("others", "scan", "/lib", {})
        indexed.record(job.job_id, [("/lib/a.jpg", 1, 10, "p1", "h1"), ("/lib/sub/b.jpg", 2, 20, "p2", "h2"),
                                    ("/lib2/c.jpg", 3, 30, "p3", "h3"), ("/lib-x/d.jpg", 4, 40, "p4", "h4")])
        indexed.record(other.job_id, [("/lib/e.jpg", 5, 50, "p5", "h5")])
        assert indexed.stats("photos", "/lib") == {"/lib/a.jpg": (1, 10), "/lib/sub/b.jpg": (2, 20)}
        assert indexed.count("photos", "/lib") == 2
        assert indexed.points("photos", ["/lib/sub/b.jpg", "/lib/none.jpg"]) == {
            "/lib/sub/b.jpg": Indexed("p2", 2, 20, "h2")}


def test_a_removal_is_remembered_until_the_file_is_stored_again_or_cleared(tmp_path: Path) -> None:
    with JobStore(tmp_path / "jobs.db") as jobdb:
        indexed = IndexedFiles(jobdb)
        job = jobdb.create_job("photos", "scan", "/lib", {})
        indexed.record(job.job_id, [("/lib/a.jpg", 1, 10, "p1", "h1"), ("/lib/b.jpg", 2, 20, "p2", "h2")])
        indexed.remember_removed("photos", [("/lib/a.jpg", 1, 10), ("/lib/b.jpg", 2, 20)])
        assert (indexed.count("photos", "/lib"), indexed.removed("photos", "/lib")) == (
            0, {"/lib/a.jpg": (1, 10), "/lib/b.jpg": (2, 20)})
        indexed.record(job.job_id, [("/lib/a.jpg", 1, 11, "p1", "h1")])  # stored again (changed, or scanned)
        assert indexed.removed_count("photos", "/lib") == 1
        assert indexed.clear_removed("photos", "/lib") == 1
        assert indexed.stats("photos", "/lib") == {"/lib/a.jpg": (1, 11)}
        assert indexed.removed_count("photos", "/lib") == 0


def test_a_rebuild_replaces_the_stored_files_and_keeps_removals(tmp_path: Path) -> None:
    with JobStore(tmp_path / "jobs.db") as jobdb:
        indexed = IndexedFiles(jobdb)
        job = jobdb.create_job("photos", "scan", "/lib", {})
        indexed.record(job.job_id, [("/lib/stale.jpg", 1, 10, "p1", "h1")])
        indexed.remember_removed("photos", [("/lib/out.jpg", 3, 30)])
        indexed.rebuild("photos", "/lib", {"/lib/new.jpg": Indexed("p2", 2, 20, "h2")})
        assert indexed.stats("photos", "/lib") == {"/lib/new.jpg": (2, 20)}
        assert indexed.removed("photos", "/lib") == {"/lib/out.jpg": (3, 30)}
        indexed.drop_collection("photos")
        assert indexed.stats("photos", "/lib") == {} and indexed.removed_count("photos", "/lib") == 0


def test_a_version_2_file_gains_the_mirror(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    with JobStore(path) as jobdb, jobdb.writing() as conn:
        conn.execute("DROP TABLE indexed_files")
        conn.execute("PRAGMA user_version=2")
    with JobStore(path) as jobdb, jobdb.reading() as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
        assert conn.execute("SELECT COUNT(*) FROM indexed_files").fetchone()[0] == 0
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
