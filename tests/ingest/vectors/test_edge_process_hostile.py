"""The store process as reality and a hostile caller treat it (docs/scaling.md, "The store in a process of its
own"): stopped, killed in the middle of a job, interrupted, forked, its launcher stopped, flooded with searches,
asked for large answers, answering what the parent cannot read."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from sightline.errors import ErrorCode, SightlineError
from sightline.ingest.vectors import CollectionParams, Point, StoreError
from sightline.ingest.vectors import _edge_server, edge_process
from sightline.ingest.vectors.edge_process import EdgeProcessStore
from tests.ingest.api.helpers import all_points, create, ingested, running, settings_for
from tests.ingest.vectors.test_edge_process import points, wait_gone
from tests.samples import distinct_image


@pytest.fixture()
def store(tmp_path: Path):
    store = EdgeProcessStore(tmp_path / "collections")
    store.create_collection("k", CollectionParams(vector_size=2))
    store.upsert("k", points(20))
    yield store
    store.close()


def resume(pid: int) -> None:
    """Let a stopped process go on (if the test failed before it was killed)."""
    try:
        os.kill(pid, signal.SIGCONT)
    except ProcessLookupError:
        pass


def test_a_stopped_store_process_fails_the_call_with_store_failed_and_is_replaced(store, monkeypatch):
    monkeypatch.setattr(edge_process, "HUNG_S", 2.0)
    stopped = store.pid
    os.kill(stopped, signal.SIGSTOP)
    outcome: dict = {}

    def call() -> None:
        try:
            outcome["count"] = store.count("k")
        except StoreError as e:
            outcome["error"] = e

    caller = threading.Thread(target=call, daemon=True)
    started = time.monotonic()
    caller.start()
    caller.join(30)
    try:
        assert not caller.is_alive(), "the call waited on a stopped store process for ever"
        error = outcome["error"]
        assert error.code == ErrorCode.STORE_FAILED and error.status == 503
        assert "stopped or hung" in error.message and "count" in error.message
        assert 2.0 <= time.monotonic() - started < 15
        assert wait_gone(stopped, timeout=5)
        assert store.count("k") == 20 and store.pid != stopped  # a new process, nothing lost
    finally:
        resume(stopped)


def test_a_long_index_build_is_not_cut_by_the_hang_bound(store, monkeypatch):
    """The build runs for longer than `HUNG_S`; the store process beats meanwhile."""
    monkeypatch.setattr(edge_process, "HUNG_S", 1.5)
    store.create_collection("big", CollectionParams(vector_size=64, hnsw_m=32, hnsw_ef_construct=400))
    vectors = np.random.default_rng(0).standard_normal((12_000, 64)).astype(np.float32)
    store.upsert("big", [Point(str(uuid.UUID(int=i + 1)), row.tolist(), {}) for i, row in enumerate(vectors)])
    pid = store.pid
    started = time.monotonic()
    store.build_index("big", indexing_threshold_kb=1)
    elapsed = time.monotonic() - started
    assert elapsed > 2 * edge_process.HUNG_S, f"a build of {elapsed:.1f} s proves nothing"
    assert store.pid == pid and store.count("big") == 12_000


class Interrupted(Exception):
    pass


def test_a_call_interrupted_while_waiting_leaves_no_stale_answer_for_the_next(store):
    """A signal handler raising in the middle of a call (Ctrl-C): the reply still due on that connection must
    not become the answer of a later call."""
    stopped = store.pid

    def interrupt(signum, frame):
        raise Interrupted

    previous = signal.signal(signal.SIGUSR1, interrupt)
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGUSR1))
    try:
        os.kill(stopped, signal.SIGSTOP)  # the call is surely waiting when the signal comes
        timer.start()
        with pytest.raises(Interrupted):
            store.count("k")
    finally:
        timer.cancel()
        signal.signal(signal.SIGUSR1, previous)
        resume(stopped)
    answers = [store.list_collections() for _ in range(2 * _edge_server.CONNECTIONS)]
    assert all(isinstance(answer, list) for answer in answers), answers
    assert store.count("k") == 20


FORKED = """
import os, sys, time
from sightline.ingest.vectors import CollectionParams, StoreError
from sightline.ingest.vectors.edge_process import EdgeProcessStore
store = EdgeProcessStore(sys.argv[1])
store.create_collection("k", CollectionParams(vector_size=2))
pid = os.fork()
if pid == 0:  # a forked child of the service (no exec) that outlives it
    try:
        store.count("k")
        answer = "served"
    except StoreError as e:
        answer = e.message
    with open(sys.argv[2], "w") as f:
        f.write(answer)
    os.close(1), os.close(2)  # then the test reads the answer
    time.sleep(60)
    os._exit(0)
print(store.pid, pid, flush=True)
os._exit(0)  # the service gone, no close()
"""


def test_a_forked_child_of_the_parent_keeps_no_store_process_alive(tmp_path):
    answer = tmp_path / "answer"
    out = subprocess.run([sys.executable, "-c", FORKED, str(tmp_path / "collections"), str(answer)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    store_pid, forked_pid = map(int, out.stdout.split())
    try:
        assert wait_gone(store_pid, timeout=_edge_server.CLOSE_WAIT_S + 10), "the fork kept the store alive"
        assert answer.read_text() == "the vector store is closed"  # its copy of the store is not used
    finally:
        os.kill(forked_pid, signal.SIGKILL)


def test_an_answer_the_parent_cannot_load_is_a_store_error(store, monkeypatch):
    """A reply naming an error class this process cannot import: STORE_FAILED, and the pool serves on."""
    original = edge_process._answer

    def unreadable(reply):
        if reply == ("ok", 20):
            edge_process.pickle.loads(b"csightline.errors\nNoSuchError\n.")
        return original(reply)

    monkeypatch.setattr(edge_process, "_answer", unreadable)
    with pytest.raises(StoreError) as caught:
        store.count("k")
    assert caught.value.code == ErrorCode.STORE_FAILED and "could not be read" in caught.value.message
    assert store.list_collections()[0].name == "k"


def test_a_folder_that_cannot_be_locked_is_a_store_error(tmp_path, monkeypatch):
    """flock failing for another reason than a holder (a file system without locks: ENOLCK)."""

    def no_locks(fd, operation):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(_edge_server.fcntl, "flock", no_locks)
    with pytest.raises(StoreError, match="cannot lock the vector store .*No locks available"):
        _edge_server._hold_lock(tmp_path)


def test_a_stopped_launcher_fails_the_open_with_store_failed_and_is_replaced(tmp_path, monkeypatch):
    monkeypatch.setattr(_edge_server, "FORK_TIMEOUT_S", 1.0)
    launcher = _edge_server.Launcher()  # this test's own, stopped
    monkeypatch.setattr(_edge_server, "launcher", lambda: launcher)
    EdgeProcessStore(tmp_path / "a").close()  # started
    stopped = launcher._process.pid
    os.kill(stopped, signal.SIGSTOP)
    try:
        with pytest.raises(StoreError, match="launcher process failed: timed out"):
            EdgeProcessStore(tmp_path / "b")
        assert wait_gone(stopped, timeout=5)
        store = EdgeProcessStore(tmp_path / "b")  # a new launcher
        assert store.list_collections() == [] and launcher._process.pid != stopped
        store.close()
    finally:
        resume(stopped)
        launcher._process.kill()


@pytest.fixture(scope="module")
def loaded_ml(ml_app):
    ml_app.state.holder.load()
    yield ml_app
    ml_app.state.holder.unload()


async def test_a_store_process_killed_during_a_job_s_upsert_loses_and_duplicates_nothing(loaded_ml, tmp_path):
    """The service's job goes on: the upsert cut by the process's end is sent again to the next process (an
    upsert of stable ids is the same write twice), so no file fails and no point is doubled."""
    library = tmp_path / "library"
    library.mkdir()
    for index in range(12):
        (library / f"{index}.jpg").write_bytes(distinct_image(index))
    settings = settings_for(tmp_path, library, ml_batch_size=4, store_process=True)
    async with running(settings, loaded_ml) as (app, api):
        store = app.state.services.vectors
        upsert, running_child, upserts, killed = store.upsert, store._running, [], []

        def counted_upsert(name, batch):
            upserts.append(len(batch))
            return upsert(name, batch)

        def killed_once_sent(*args):  # the process dies once the job's second batch is on its way to it
            child = running_child(*args)
            if len(upserts) == 2 and not killed:
                killed.append(child.pid)
                os.kill(child.pid, signal.SIGKILL)
                assert wait_gone(child.pid)
            return child

        store.upsert, store._running = counted_upsert, killed_once_sent
        await create(api)
        job = await ingested(api, library)
        assert len(upserts) == 3 and killed and store.pid != killed[0]
        assert job["state"] == "completed" and (job["counts"]["done"], job["counts"]["failed"]) == (12, 0), job
        ids = [point.id for point in all_points(app.state.services, "photos")]
        assert len(ids) == len(set(ids)) == 12


PARENT_DIES_AS_A_BUILD_STARTS = """
import os, signal, sys, threading, time, uuid
from sightline.ingest.vectors import CollectionParams, Point
from sightline.ingest.vectors.edge_process import EdgeProcessStore
from sightline.lifetime import children
store = EdgeProcessStore(sys.argv[1])
store.create_collection("k", CollectionParams(vector_size=2))
store.upsert("k", [Point(str(uuid.UUID(int=i + 1)), [1.0, float(i)], {}) for i in range(100)])
threading.Thread(target=store.build_index, args=("k", 1), daemon=True).start()
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    builders = children(store.pid)
    if builders:
        os.kill(builders[0], signal.SIGSTOP)  # still importing: its death signal not set yet
        print(store.pid, builders[0], flush=True)
        os._exit(0)
    time.sleep(0.001)
os._exit(1)
"""


def test_a_build_that_started_just_before_its_store_process_ended_ends_too(tmp_path):
    out = subprocess.run([sys.executable, "-c", PARENT_DIES_AS_A_BUILD_STARTS, str(tmp_path / "collections")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    store_pid, builder_pid = map(int, out.stdout.split())
    try:
        assert wait_gone(store_pid, timeout=_edge_server.CLOSE_WAIT_S + 10)
        # ended by its store process: resumed, it would find no parent to die with and build on alone
        assert wait_gone(builder_pid, timeout=5), "the build outlived its store process"
    finally:
        resume(builder_pid)
        with contextlib.suppress(ProcessLookupError):
            os.kill(builder_pid, signal.SIGKILL)


def anonymous_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("RssAnon:")))


def test_the_store_process_gives_back_the_memory_of_large_calls(store):
    """Each connection's thread has its own malloc arena: without a trim, every thread that served a large
    call kept its memory (the requests and replies it held until its next call too)."""
    store.create_collection("m", CollectionParams(vector_size=384))
    vectors = np.random.default_rng(0).standard_normal((6000, 384)).astype(np.float32)
    before = anonymous_kib(store.pid)
    for start in range(0, 6000, 1000):
        store.upsert("m", [Point(str(uuid.UUID(int=start + i + 1)), row.tolist(), {})
                           for i, row in enumerate(vectors[start:start + 1000])])
    page, _ = store.scroll("m", limit=6000, with_vectors=True)
    assert len(page) == 6000
    grown = anonymous_kib(store.pid) - before
    assert grown < 40_000, f"the store process kept {grown // 1024} MiB"


async def test_fifty_searches_through_the_api_during_a_big_upsert_all_answer(loaded_ml, tmp_path):
    library = tmp_path / "library"
    library.mkdir()
    for index in range(3):
        (library / f"{index}.jpg").write_bytes(distinct_image(index))
    async with running(settings_for(tmp_path, library, store_process=True), loaded_ml) as (app, api):
        store = app.state.services.vectors
        await create(api)
        await ingested(api, library)
        first = all_points(app.state.services, "photos")[0]
        size = store.collection_info("photos").params.vector_size
        rng = np.random.default_rng(0)
        big = [Point(str(uuid.UUID(int=i + 1)), rng.standard_normal(size).tolist(), first.payload)
               for i in range(4000)]
        writing = asyncio.create_task(asyncio.to_thread(store.upsert, "photos", big))
        started = time.monotonic()
        answers = await asyncio.gather(*(api.post("/api/v1/search", json={"collection": "photos",
                                                                          "point_id": first.id, "limit": 5})
                                         for _ in range(50)))
        elapsed = time.monotonic() - started
        await writing
        assert [answer.status_code for answer in answers] == [200] * 50
        assert all(answer.json()["results"] for answer in answers)
        assert store.count("photos") == 4003 and elapsed < 30


def test_an_error_that_cannot_be_pickled_comes_back_as_a_store_error():
    class Unpicklable(SightlineError):  # a local class: pickle cannot name it
        pass

    class Failing:
        def count(self, name):
            raise Unpicklable(ErrorCode.STORE_FAILED, "engine trouble")

    request = pickle.dumps(("count", ("k",), {}))
    reply = pickle.loads(_edge_server._reply(Failing(), request, threading.Event()))
    with pytest.raises(StoreError, match="answer could not be sent: .*Unpicklable") as caught:
        edge_process._answer(reply)
    assert caught.value.code == ErrorCode.STORE_FAILED
