"""Unit tests of the SQLite job store (real SQLite files in tmp_path, a fake clock)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from sightline.errors import SightlineError
from sightline.ingest.jobdb import (
    TERMINAL_STATES,
    FileState,
    JobCounts,
    JobNotFound,
    JobStore,
    JobStoreBusy,
    JobStoreDamaged,
)
from tests.ingest.pipeline.conftest import small_disk


class FakeClock:
    """Stands still until a test moves it."""

    def __init__(self) -> None:
        self.now = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "sightline.db"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(db_path: Path, clock: FakeClock) -> Iterator[JobStore]:
    with JobStore(db_path, clock=clock) as s:
        yield s


def add(store: JobStore, job_id: str, n: int, prefix: str = "/img/") -> list[str]:
    paths = [f"{prefix}{i:06d}.jpg" for i in range(n)]
    store.add_files(job_id, ((p, 1000 + i, 1.5e9 + i) for i, p in enumerate(paths)))
    return paths


# -- jobs ---------------------------------------------------------------------------------------------


def test_create_and_get(store: JobStore, db_path: Path) -> None:
    job = store.create_job("photos", "scan", "/srv/photos", {"recursive": True})
    assert len(job.job_id) == 32 and int(job.job_id, 16) >= 0
    assert job.state == "queued"
    assert job.counts == JobCounts(0, 0, 0, 0, 0, 0)
    assert job.started_at is None and job.finished_at is None and job.error is None
    assert job.created_at == "2024-05-01T12:00:00.000000Z"
    assert store.get_job(job.job_id) == job
    assert store.get_job("nope") is None
    assert db_path.exists()
    assert store._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_create_rejects_bad_kind(store: JobStore) -> None:
    with pytest.raises(ValueError):
        store.create_job("photos", "crawl", "/x")


def test_unknown_job_raises_not_found(store: JobStore) -> None:
    with pytest.raises(JobNotFound) as info:
        store.add_files("missing", [("/a.jpg", 1, 1.0)])
    assert info.value.status == 404
    with pytest.raises(JobNotFound):
        store.set_state("missing", "running")
    with pytest.raises(JobNotFound):
        store.change_counter("missing")


def test_list_jobs_filters_order_paging(store: JobStore) -> None:
    a = store.create_job("a", "scan", "/a")
    b = store.create_job("b", "upload", "upload")
    c = store.create_job("a", "scan", "/a2")
    store.set_state(c.job_id, "running")
    ids = lambda jobs: [j.job_id for j in jobs]  # noqa: E731

    assert ids(store.list_jobs()) == [c.job_id, b.job_id, a.job_id]
    assert ids(store.list_jobs(collection="a")) == [c.job_id, a.job_id]
    assert ids(store.list_jobs(states=["queued"])) == [b.job_id, a.job_id]
    assert ids(store.list_jobs(collection="a", states={"running"})) == [c.job_id]
    assert ids(store.list_jobs(states=[])) == []
    assert ids(store.list_jobs(limit=1, offset=1)) == [b.job_id]
    assert ids(store.list_jobs(limit=2, offset=2)) == [a.job_id]


def test_list_jobs_counts_each_job(store: JobStore) -> None:
    a = store.create_job("c", "scan", "/a")
    b = store.create_job("c", "scan", "/b")
    add(store, a.job_id, 3)
    add(store, b.job_id, 5)
    store.mark_files(b.job_id, [("/img/000000.jpg", "done", "p0", "h0")])
    by_id = {j.job_id: j.counts for j in store.list_jobs()}
    assert by_id[a.job_id] == JobCounts(total=3, done=0, cached=0, skipped=0, failed=0, pending=3)
    assert by_id[b.job_id] == JobCounts(total=5, done=1, cached=0, skipped=0, failed=0, pending=4)


def test_state_transitions_stamp_times(store: JobStore, clock: FakeClock) -> None:
    job = store.create_job("c", "scan", "/x")
    with pytest.raises(ValueError):
        store.set_state(job.job_id, "paused")  # type: ignore[arg-type]

    clock.advance(1)
    running = store.set_state(job.job_id, "running")
    assert (running.state, running.started_at, running.finished_at) == (
        "running", "2024-05-01T12:00:01.000000Z", None
    )

    clock.advance(2)
    done = store.set_state(job.job_id, "completed_with_errors")
    assert done.finished_at == "2024-05-01T12:00:03.000000Z"
    clock.advance(1)
    assert store.set_state(job.job_id, "failed").finished_at == done.finished_at  # terminal to terminal keeps it

    requeued = store.set_state(job.job_id, "queued")
    assert requeued.finished_at is None
    again = store.set_state(job.job_id, "running")
    assert again.started_at == running.started_at  # only the first "running" stamps started_at

    failed = store.set_state(job.job_id, "failed", error={"code": "ML_UNAUTHORIZED", "message": "bad key"})
    assert failed.error == {"code": "ML_UNAUTHORIZED", "message": "bad key"}
    assert failed.finished_at is not None and failed.state in TERMINAL_STATES
    assert store.set_state(job.job_id, "queued").error is None  # leaving for a retry clears the error


# -- files --------------------------------------------------------------------------------------------


def test_add_files_idempotent_and_ordered(store: JobStore) -> None:
    job = store.create_job("c", "scan", "/x")
    assert store.add_files(job.job_id, [("/b.jpg", 10, 1.0), ("/a.jpg", None, None), ("/b.jpg", 10, 1.0)]) == 2
    assert store.add_files(job.job_id, [("/a.jpg", 1, 2.0), ("/c.jpg", 3, 3.0)]) == 1
    files = store.pending_files(job.job_id)
    assert [f.path for f in files] == ["/b.jpg", "/a.jpg", "/c.jpg"]
    assert (files[1].size, files[1].mtime) == (None, None)  # the re-add did not overwrite
    assert [f.path for f in store.pending_files(job.job_id, limit=2)] == ["/b.jpg", "/a.jpg"]
    # The same path in another job is a separate file.
    other = store.create_job("c", "scan", "/x")
    assert store.add_files(other.job_id, [("/a.jpg", 1, 2.0)]) == 1


def test_add_100k_files_then_count_and_resume(store: JobStore) -> None:
    job = store.create_job("c", "scan", "/big")
    n = 100_000
    rows = [(f"/srv/photos/2024/album-{i // 500:04d}/IMG_{i:06d}.JPG", 2_000_000 + i, 1.7e9 + i) for i in range(n)]

    assert store.add_files(job.job_id, rows) == n
    assert store.add_files(job.job_id, rows[:50_000]) == 0  # a resumed scan re-adds: nothing new

    updates: list[tuple[str, FileState, str | None, str | None]] = [
        (p, "done" if i % 4 else "cached", f"pt{i}", f"h{i}") for i, (p, _, _) in enumerate(rows[:60_000])
    ]
    store.mark_files(job.job_id, updates)

    got = store.get_job(job.job_id)
    assert got is not None
    assert got.counts == JobCounts(total=n, done=45_000, cached=15_000, skipped=0, failed=0, pending=40_000)
    pending = store.pending_files(job.job_id, limit=3)
    assert [f.path for f in pending] == [r[0] for r in rows[60_000:60_003]]


def test_mark_files_updates_counts_and_records(store: JobStore) -> None:
    job = store.create_job("c", "scan", "/x")
    paths = add(store, job.job_id, 6)
    store.mark_files(
        job.job_id,
        [
            (paths[0], "done", "pid-0", "sha-0"),
            (paths[1], "cached", "pid-1", "sha-1"),
            (paths[2], "skipped", "pid-2", None),
            (paths[3], "failed", None, "sha-3"),
            ("/not/in/job.jpg", "done", "x", "y"),  # ignored
        ],
    )
    assert store.counts(job.job_id) == JobCounts(total=6, done=1, cached=1, skipped=1, failed=1, pending=2)
    assert [f.path for f in store.files(job.job_id, state="failed")] == [paths[3]]
    assert [f.path for f in store.files(job.job_id, limit=2, offset=1)] == paths[1:3]
    first = store.files(job.job_id, limit=1)[0]
    assert (first.state, first.point_id, first.sha256, first.size) == ("done", "pid-0", "sha-0", 1000)
    # None keeps what was known.
    store.mark_files(job.job_id, [(paths[3], "done", "pid-3", None)])
    fourth = store.files(job.job_id, limit=1, offset=3)[0]
    assert (fourth.state, fourth.point_id, fourth.sha256) == ("done", "pid-3", "sha-3")
    with pytest.raises(ValueError):
        store.mark_files(job.job_id, [(paths[4], "exploded", None, None)])  # type: ignore[list-item]
    assert store.counts(job.job_id).pending == 2  # nothing of the bad batch was written


# -- errors, logs, retry ------------------------------------------------------------------------------


def test_errors_round_trip_and_their_code_decides_retriable(store: JobStore) -> None:
    job = store.create_job("c", "scan", "/x")
    store.record_errors(
        job.job_id, [("/a.jpg", "decode", "DECODE_FAILED", "not a JPEG"), ("/b.jpg", "embed", "ML_TIMEOUT", "slow")]
    )
    errors = store.errors(job.job_id)
    assert [(e.path, e.stage, e.code, e.message, e.retriable) for e in errors] == [
        ("/a.jpg", "decode", "DECODE_FAILED", "not a JPEG", False),
        ("/b.jpg", "embed", "ML_TIMEOUT", "slow", True),
    ]
    assert errors[0].job_id == job.job_id
    assert errors[0].at == "2024-05-01T12:00:00.000000Z"
    assert set(errors[0].to_dict()) == {"path", "stage", "code", "message", "retriable", "at"}
    assert [e.path for e in store.errors(job.job_id, limit=1, offset=1)] == ["/b.jpg"]


def test_logs_after_id(store: JobStore) -> None:
    job = store.create_job("c", "scan", "/x")
    other = store.create_job("c", "scan", "/y")
    first = store.log(job.job_id, "scanning")
    store.log(other.job_id, "other job")
    second = store.log(job.job_id, "slow ML", level="warning")
    assert second.id > first.id
    assert [(l.message, l.level) for l in store.logs(job.job_id)] == [("scanning", "info"), ("slow ML", "warning")]
    assert [l.id for l in store.logs(job.job_id, after_id=first.id)] == [second.id]
    assert store.logs(job.job_id, after_id=second.id) == []
    assert len(store.logs(job.job_id, limit=1)) == 1
    assert store.logs(job.job_id)[0] == first


def test_retry_failed_resets_only_failed(store: JobStore) -> None:
    job = store.create_job("c", "scan", "/x")
    paths = add(store, job.job_id, 4)
    store.mark_files(
        job.job_id,
        [(paths[0], "done", "p0", "h0"), (paths[1], "failed", None, None), (paths[2], "failed", None, None)],
    )
    store.record_errors(
        job.job_id,
        [(paths[1], "embed", "ML_TIMEOUT", "t"), (paths[2], "decode", "DECODE_FAILED", "d"),
         ("/elsewhere.jpg", "scan", "FILE_UNREADABLE", "gone")],
    )
    store.set_state(job.job_id, "completed_with_errors", error={"code": "ML_TIMEOUT", "message": "x"})

    assert store.retry_failed(job.job_id) == 2
    got = store.get_job(job.job_id)
    assert got is not None
    assert got.state == "queued" and got.finished_at is None and got.error is None
    assert got.counts == JobCounts(total=4, done=1, cached=0, skipped=0, failed=0, pending=3)
    assert [e.path for e in store.errors(job.job_id)] == ["/elsewhere.jpg"]
    assert store.files(job.job_id, limit=1)[0].state == "done"
    assert store.retry_failed(job.job_id) == 0


def test_retry_keeps_state_of_running_job(store: JobStore) -> None:
    job = store.create_job("c", "scan", "/x")
    paths = add(store, job.job_id, 2)
    store.set_state(job.job_id, "running")
    store.mark_files(job.job_id, [(paths[0], "failed", None, None)])
    assert store.retry_failed(job.job_id) == 1
    assert store.get_job(job.job_id).state == "running"  # type: ignore[union-attr]


# -- restart, concurrency -----------------------------------------------------------------------------


def test_restart_resumes_running_jobs(db_path: Path) -> None:
    store = JobStore(db_path)
    old = store.create_job("c", "scan", "/old")
    done = store.create_job("c", "scan", "/done")
    queued = store.create_job("c", "upload", "upload")
    add(store, old.job_id, 5)
    store.set_state(old.job_id, "running")
    store.mark_files(old.job_id, [("/img/000000.jpg", "done", "p", "h")])
    store.set_state(done.job_id, "running")
    store.set_state(done.job_id, "completed")
    store._conn.close()  # as if killed: no clean shutdown work

    store = JobStore(db_path)
    try:
        assert [j.job_id for j in store.unfinished_jobs()] == [old.job_id, queued.job_id]
        assert store.mark_interrupted_running_as_queued() == 1
        resumed = store.get_job(old.job_id)
        assert resumed is not None and resumed.state == "queued"
        assert resumed.counts.done == 1 and resumed.counts.pending == 4
        assert resumed.started_at is not None
        assert [l.message for l in store.logs(old.job_id)] == ["resumed after restart"]
        assert store.logs(queued.job_id) == []
        assert [j.state for j in store.unfinished_jobs()] == ["queued", "queued"]
        assert store.mark_interrupted_running_as_queued() == 0
        assert store.get_job(done.job_id).state == "completed"  # type: ignore[union-attr]
    finally:
        store.close()


_KILLED_WRITER = """
import sys
from pathlib import Path
from sightline.ingest.jobdb import JobStore
store = JobStore(Path(sys.argv[1]))
job_id = sys.argv[2]
i = 0
while True:
    store.mark_files(job_id, [(f"/img/{(i * 50 + k) % 2000:06d}.jpg", "done", f"p{i}", None) for k in range(50)])
    store.log(job_id, f"batch {i}")
    if i == 5:
        print("writing", flush=True)
    i += 1
"""


@pytest.mark.e2e
def test_survives_sigkill_mid_write(db_path: Path) -> None:
    with JobStore(db_path) as store:
        job = store.create_job("c", "scan", "/x")
        add(store, job.job_id, 2000)
        store.set_state(job.job_id, "running")
    child = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WRITER, str(db_path), job.job_id], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "writing"
    finally:
        child.kill()  # SIGKILL: no cleanup, possibly inside a transaction
        child.wait()
    with JobStore(db_path) as store:
        assert store._conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        counts = store.counts(job.job_id)
        assert counts.total == 2000 and counts.done + counts.pending == 2000
        batches = len(store.logs(job.job_id, limit=100_000))
        assert batches >= 6
        assert counts.done == min(2000, batches * 50) or counts.done == min(2000, (batches + 1) * 50)
        assert store.mark_interrupted_running_as_queued() == 1


def test_concurrent_writers(store: JobStore) -> None:
    job = store.create_job("c", "scan", "/x")
    per_thread, errors = 300, []

    def worker(t: int) -> None:
        try:
            paths = [f"/t{t}/{i}.jpg" for i in range(per_thread)]
            for start in range(0, per_thread, 20):
                chunk = paths[start:start + 20]
                store.add_files(job.job_id, [(p, 1, 1.0) for p in chunk])
                store.mark_files(job.job_id, [(p, "done", p, None) for p in chunk[::2]])
                store.record_errors(job.job_id, [(chunk[1], "embed", "ML_TIMEOUT", "t")])
                store.log(job.job_id, f"thread {t} chunk {start}")
                store.get_job(job.job_id)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()

    assert errors == []
    counts = store.counts(job.job_id)
    assert counts.total == 4 * per_thread
    assert counts.done == 4 * per_thread // 2
    assert len(store.errors(job.job_id)) == 4 * per_thread // 20
    assert len(store.logs(job.job_id)) == 4 * per_thread // 20


def test_second_store_on_same_file(db_path: Path) -> None:
    """Another process (the CLI) may open the same database while the service has it open."""
    with JobStore(db_path) as a, JobStore(db_path) as b:
        job = a.create_job("c", "scan", "/x")
        b.log(job.job_id, "from b")
        assert [l.message for l in a.logs(job.job_id)] == ["from b"]


# -- progress, change counter, deletion, JSON ---------------------------------------------------------


def test_progress_while_scanning_running_and_finished(store: JobStore) -> None:
    job = store.create_job("c", "scan", "/x")
    assert (job.counts.processed, job.percent, job.is_terminal) == (0, None, False)  # total not known yet
    paths = add(store, job.job_id, 3)
    store.mark_files(job.job_id, [(paths[0], "done", "p", None), (paths[1], "failed", None, None)])
    got = store.get_job(job.job_id)
    assert got is not None
    assert (got.counts.processed, got.percent) == (2, 66)  # whole percent, rounded down
    empty = store.create_job("c", "scan", "/empty")
    finished = store.set_state(empty.job_id, "completed")
    assert (finished.percent, finished.is_terminal) == (100, True)  # finished without files


def test_throughput_and_eta(store: JobStore, clock: FakeClock) -> None:
    job = store.create_job("c", "scan", "/x")
    paths = add(store, job.job_id, 10)
    assert (job.images_per_second, job.eta_seconds) == (None, None)
    running = store.set_state(job.job_id, "running")
    assert (running.images_per_second, running.eta_seconds) == (None, None)

    clock.advance(2)
    store.mark_files(job.job_id, [(p, "done", p, None) for p in paths[:4]])
    got = store.get_job(job.job_id)
    assert got is not None
    assert (got.images_per_second, got.eta_seconds) == (2.0, 3.0)  # 4 files in 2 s; 6 left at that rate

    # A new running period measures only what it processes itself.
    store.set_state(job.job_id, "queued")
    assert store.get_job(job.job_id).images_per_second is None  # type: ignore[union-attr]
    store.set_state(job.job_id, "running")
    assert store.get_job(job.job_id).images_per_second is None  # type: ignore[union-attr]
    clock.advance(3)
    store.mark_files(job.job_id, [(p, "skipped", None, None) for p in paths[4:]])
    finished = store.set_state(job.job_id, "completed")
    assert (finished.images_per_second, finished.eta_seconds) == (2.0, None)  # 6 files in 3 s
    clock.advance(10)
    later = store.get_job(job.job_id)
    assert later is not None and later.images_per_second == 2.0  # frozen once finished


def test_change_counter_moves_on_every_kind_of_update(db_path: Path) -> None:
    store = JobStore(db_path)
    job = store.create_job("c", "scan", "/x")
    other = store.create_job("c", "scan", "/y")
    seen = [store.change_counter(job.job_id)]

    def changed() -> None:
        now = store.change_counter(job.job_id)
        assert now > seen[-1]
        seen.append(now)

    store.add_files(job.job_id, [("/a.jpg", 1, 1.0)])
    changed()
    store.set_state(job.job_id, "running")
    changed()
    store.mark_files(job.job_id, [("/a.jpg", "failed", None, None)])
    changed()
    store.record_errors(job.job_id, [("/a.jpg", "decode", "DECODE_FAILED", "bad")])
    changed()
    store.log(job.job_id, "hello")
    changed()
    store.retry_failed(job.job_id)
    changed()
    store.set_state(job.job_id, "running")
    store.close()
    store = JobStore(db_path)  # restart: the counter is durable and keeps growing
    try:
        store.mark_interrupted_running_as_queued()
        changed()
        store.delete_jobs_for_collection("elsewhere")
        before = store.change_counter(job.job_id)
        store.log(other.job_id, "unrelated")
        store.get_job(job.job_id)
        store.counts(job.job_id)
        assert store.change_counter(job.job_id) == before  # reads and other jobs' writes leave it alone
    finally:
        store.close()


def test_delete_jobs_for_collection(store: JobStore) -> None:
    a1 = store.create_job("a", "scan", "/x")
    a2 = store.create_job("a", "upload", "upload")
    b = store.create_job("b", "scan", "/x")
    for job in (a1, a2, b):
        add(store, job.job_id, 3)
        store.log(job.job_id, "line")
        store.record_errors(job.job_id, [("/img/000000.jpg", "decode", "DECODE_FAILED", "x")])

    assert store.delete_jobs_for_collection("a") == 2
    assert store.get_job(a1.job_id) is None and store.get_job(a2.job_id) is None
    assert [j.job_id for j in store.list_jobs()] == [b.job_id]
    rows = {table: store._conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            for table in ("files", "job_errors", "job_logs")}
    assert rows == {"files": 3, "job_errors": 1, "job_logs": 1}  # only b's are left
    assert store.counts(b.job_id).total == 3 and len(store.logs(b.job_id)) == 1
    assert store.delete_jobs_for_collection("a") == 0


def test_to_dict_shapes_are_json(store: JobStore, clock: FakeClock) -> None:
    job = store.create_job("c", "scan", "/x", {"recursive": True, "caption": False})
    paths = add(store, job.job_id, 2)
    store.set_state(job.job_id, "running")
    clock.advance(0.5)
    store.mark_files(job.job_id, [(paths[0], "done", "p", "h")])
    store.record_errors(job.job_id, [(paths[1], "decode", "DECODE_FAILED", "boom")])
    line = store.log(job.job_id, "hi")
    got = store.set_state(job.job_id, "failed", error={"code": "ML_UNAUTHORIZED", "message": "bad key"})

    data = json.loads(json.dumps(got.to_dict()))
    assert list(data) == [
        "job_id", "collection", "kind", "source", "options", "state", "is_terminal", "counts", "processed",
        "percent", "images_per_second", "eta_seconds", "created_at", "started_at", "finished_at", "error",
    ]
    assert data["counts"] == {"total": 2, "done": 1, "cached": 0, "skipped": 0, "failed": 0, "moved": 0,
                              "removed": 0, "pending": 1}
    assert (data["is_terminal"], data["processed"], data["percent"]) == (True, 1, 50)
    assert data["options"] == {"recursive": True, "caption": False}
    assert data["error"] == {"code": "ML_UNAUTHORIZED", "message": "bad key"}
    assert data["images_per_second"] == 2.0
    error = json.loads(json.dumps(store.errors(job.job_id)[0].to_dict()))
    assert error == {"path": paths[1], "stage": "decode", "code": "DECODE_FAILED", "message": "boom",
                     "retriable": False, "at": "2024-05-01T12:00:00.500000Z"}
    assert json.loads(json.dumps(line.to_dict())) == {"id": line.id, "at": line.at, "level": "info", "message": "hi"}


def test_a_lock_held_by_another_connection_is_a_coded_busy_error(db_path: Path) -> None:
    with JobStore(db_path, busy_timeout_s=0.05) as store:
        job = store.create_job("photos", "scan", "/photos")
        other = sqlite3.connect(db_path, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        try:
            with pytest.raises(JobStoreBusy) as caught:
                store.log(job.job_id, "while locked")
            assert (caught.value.code, caught.value.status) == ("STORE_FAILED", 503)
            assert store.get_job(job.job_id) is not None  # reads go on (WAL)
        finally:
            other.execute("ROLLBACK")
            other.close()
        store.log(job.job_id, "after")
        assert [line.message for line in store.logs(job.job_id)] == ["after"]


def test_a_garbage_database_file_is_one_clear_error(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    db_path.write_bytes(b"this is no SQLite file " * 100)
    with pytest.raises(JobStoreDamaged) as caught:
        JobStore(db_path)
    assert caught.value.message == (
        f"the job database {db_path} cannot be opened (file is not a database); move the file aside "
        "(the job history starts empty) or restore a backup"
    )


def test_a_full_disk_refuses_writes_with_disk_full_and_start_up_still_works(tmp_path: Path) -> None:
    with small_disk(tmp_path / "small") as resize:  # 16 MiB: under the 64 MiB kept free
        with JobStore(tmp_path / "small" / "sightline.db") as store:  # opening writes (tiny): never refused
            with pytest.raises(SightlineError) as caught:
                store.create_job("photos", "scan", "/photos")
            assert (caught.value.code, caught.value.status) == ("DISK_FULL", 507)
            assert store.list_jobs() == []
            resize("128m")
            assert store.create_job("photos", "scan", "/photos").state == "queued"


# -- job ids as people type them ----------------------------------------------------------------------

FIRST_ID, SECOND_ID = "fa01dc24" + "0" * 24, "fa01dc99" + "1" * 24


@pytest.fixture
def two_jobs(store: JobStore, db_path: Path) -> JobStore:
    """Two jobs whose ids share the prefix "fa01dc" (set through another SQLite connection)."""
    for new_id in (FIRST_ID, SECOND_ID):
        old_id = store.create_job("photos", "scan", "/x").job_id
        with sqlite3.connect(db_path) as conn:
            conn.execute("UPDATE jobs SET job_id = ? WHERE job_id = ?", (new_id, old_id))
    return store


def test_resolve_job_id_accepts_the_full_id_or_a_unique_prefix(two_jobs: JobStore) -> None:
    assert two_jobs.resolve_job_id(FIRST_ID) == FIRST_ID
    assert two_jobs.resolve_job_id("fa01dc24") == FIRST_ID  # the 8 characters the UI shows
    assert two_jobs.resolve_job_id("FA01DC9") == SECOND_ID
    assert two_jobs.resolve_job_id("fa01dd") is None
    assert two_jobs.resolve_job_id("fa01d") is None  # under 6 characters: never a prefix
    assert two_jobs.resolve_job_id("fa01d%") is None  # not hex: never a pattern


def test_an_ambiguous_job_id_prefix_is_a_conflict_naming_the_matches(two_jobs: JobStore) -> None:
    with pytest.raises(SightlineError) as info:
        two_jobs.resolve_job_id("fa01dc")
    assert (info.value.code, info.value.status, info.value.where) == ("CONFLICT", 409, "job_id")
    assert "fa01dc24" in info.value.message and "fa01dc99" in info.value.message


def test_moved_and_removed_files_are_counted_and_processed(store: JobStore) -> None:
    job = store.create_job("c", "sync", "/x")
    paths = add(store, job.job_id, 3)
    store.mark_files(job.job_id, [(paths[0], "moved", "p", "h"), (paths[1], "removed", None, "h2")])
    counts = store.counts(job.job_id)
    assert (counts.moved, counts.removed, counts.pending, counts.processed, counts.total) == (1, 1, 1, 2, 3)


def test_unchanged_files_of_a_sync_count_as_skipped_without_rows(store: JobStore) -> None:
    job = store.create_job("c", "sync", "/x")
    add(store, job.job_id, 1)
    store.set_unchanged(job.job_id, 20_000)
    counts = store.get_job(job.job_id).counts
    assert (counts.skipped, counts.total, counts.pending) == (20_000, 20_001, 1)
    assert len(store.files(job.job_id, limit=-1)) == 1


def test_a_version_1_file_is_migrated(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    with sqlite3.connect(db_path) as conn:  # the version-1 jobs table, with one job in it
        conn.execute("CREATE TABLE jobs (seq INTEGER PRIMARY KEY AUTOINCREMENT, job_id TEXT NOT NULL UNIQUE, "
                     "collection TEXT NOT NULL, kind TEXT NOT NULL, source TEXT NOT NULL, options TEXT NOT NULL, "
                     "state TEXT NOT NULL, created_at TEXT NOT NULL, started_at TEXT, finished_at TEXT, error TEXT, "
                     "run_started_at TEXT, run_base INTEGER NOT NULL DEFAULT 0, version INTEGER NOT NULL DEFAULT 0)")
        conn.execute("INSERT INTO jobs (job_id, collection, kind, source, options, state, created_at) "
                     "VALUES ('old', 'c', 'scan', '/x', '{}', 'completed', '2026-01-01T00:00:00Z')")
        conn.execute("PRAGMA user_version=1")
    with JobStore(db_path) as store:
        assert store.get_job("old").counts.skipped == 0
        with store.reading() as conn:
            assert conn.execute("PRAGMA user_version").fetchone()[0] == 4
            assert conn.execute("SELECT COUNT(*) FROM sources").fetchone()[0] == 0
            assert conn.execute("SELECT COUNT(*) FROM failed_files").fetchone()[0] == 0
