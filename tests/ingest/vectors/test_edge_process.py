"""The embedded store in its own process: what the process adds to the contract tests (which run on it too)."""

from __future__ import annotations

import fcntl
import os
import select
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from sightline.errors import ErrorCode
from sightline.ingest.vectors import CollectionParams, Point, StoreError
from sightline.ingest.vectors import _edge_server
from sightline.ingest.vectors.edge_process import EdgeProcessStore


def points(count: int) -> list[Point]:
    return [Point(str(uuid.UUID(int=i + 1)), [1.0, float(i)], {"i": i}) for i in range(count)]


def wait_gone(pid: int, timeout: float = 30) -> bool:
    """True once the process ``pid`` has ended (its pidfd becomes readable), False after ``timeout``."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([fd], [], [], timeout)[0])
    finally:
        os.close(fd)


def count_after_release(root: Path) -> int:
    """The points of "k" in a store opened afresh, once the lock shows the last store process closed its shards
    (the next service's store can open them at once)."""
    with (root / _edge_server.LOCK_NAME).open("rb") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    store = EdgeProcessStore(root)
    try:
        return store.count("k")
    finally:
        store.close()


@pytest.fixture()
def store(tmp_path: Path):
    store = EdgeProcessStore(tmp_path / "collections")
    yield store
    store.close()


def test_a_killed_store_process_is_replaced_and_loses_no_acknowledged_write(store):
    store.create_collection("k", CollectionParams(vector_size=2))
    store.upsert("k", points(50))
    first = store.pid
    os.kill(first, signal.SIGKILL)
    assert wait_gone(first)
    assert store.count("k") == 50  # from the shard's write-ahead log, in a new process
    assert store.pid not in (None, first)


def test_a_call_in_flight_when_the_process_dies_is_a_store_error(store, monkeypatch):
    store.create_collection("k", CollectionParams(vector_size=2))
    child = store._child
    os.kill(child.pid, signal.SIGKILL)
    assert wait_gone(child.pid)
    with pytest.raises(StoreError) as caught:
        child.call("count", ("k",), {})  # the pool's connection, as a call already past the liveness check
    assert caught.value.code == ErrorCode.STORE_FAILED and caught.value.status == 503
    assert "ended during count" in caught.value.message


def test_the_process_ignores_the_terminal_s_signals(store):
    store.create_collection("k", CollectionParams(vector_size=2))
    for sig in (signal.SIGINT, signal.SIGTERM):
        os.kill(store.pid, sig)
    store.upsert("k", points(3))
    assert store.count("k") == 3


def test_closing_the_store_ends_its_process(tmp_path):
    store = EdgeProcessStore(tmp_path / "collections")
    store.create_collection("k", CollectionParams(vector_size=2))
    pid = store.pid
    store.close()
    assert wait_gone(pid, timeout=0.5) and store.pid is None
    with pytest.raises(StoreError, match="closed"):
        store.count("k")
    reopened = EdgeProcessStore(tmp_path / "collections")
    try:
        assert reopened.collection_info("k").points_count == 0
    finally:
        reopened.close()


PARENT_DIES = """
import os, sys, uuid
from sightline.ingest.vectors import CollectionParams, Point
from sightline.ingest.vectors.edge_process import EdgeProcessStore
store = EdgeProcessStore(sys.argv[1], flush_interval_s=3600)
store.create_collection("k", CollectionParams(vector_size=2))
store.upsert("k", [Point(str(uuid.UUID(int=i + 1)), [1.0, float(i)], {"i": i}) for i in range(20)])
print(store.pid, flush=True)
os._exit(0)  # no close(): the parent is gone
"""


def test_the_process_closes_the_store_and_ends_when_its_parent_dies(tmp_path):
    root = tmp_path / "collections"
    out = subprocess.run([sys.executable, "-c", PARENT_DIES, str(root)], capture_output=True, text=True,
                         timeout=60, check=True)
    assert wait_gone(int(out.stdout))
    assert count_after_release(root) == 20


def test_a_second_process_waits_for_the_lock_of_the_first(tmp_path, monkeypatch):
    root = tmp_path / "collections"
    root.mkdir()
    monkeypatch.setattr(_edge_server, "LOCK_WAIT_S", 0.2)
    with (root / _edge_server.LOCK_NAME).open("wb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(StoreError, match="kept the vector store"):
            _edge_server._hold_lock(root)
    os.close(_edge_server._hold_lock(root))


def test_an_unknown_operation_is_refused_by_the_process(store):
    with pytest.raises(StoreError, match="no operation 'close_all'"):
        store._call("close_all")
    assert store.list_collections() == []  # the process serves on


def test_a_failed_index_build_says_why_as_it_does_inline(store):
    """The build runs in a child of the store's process, whose exit status must reach it (the launcher ignores
    SIGCHLD: without its default back, every child's status read 0 and the cause was lost)."""
    store.create_collection("k", CollectionParams(vector_size=2))
    store.upsert("k", points(10))
    with pytest.raises(StoreError, match="building the index of 'k' failed: .*indexing_threshold"):
        store.build_index("k", indexing_threshold_kb=-1)
    assert store.count("k") == 10


PARENT_DIES_DURING_A_BUILD = """
import os, sys, threading, time, uuid
import numpy as np
from sightline.ingest.vectors import CollectionParams, Point
from sightline.ingest.vectors.edge_process import EdgeProcessStore
from sightline.lifetime import children
store = EdgeProcessStore(sys.argv[1])
store.create_collection("k", CollectionParams(vector_size=64, hnsw_m=32, hnsw_ef_construct=400))
vectors = np.random.default_rng(0).standard_normal((40_000, 64)).astype(np.float32)
for start in range(0, len(vectors), 5000):
    store.upsert("k", [Point(str(uuid.UUID(int=start + i + 1)), row.tolist(), {})
                       for i, row in enumerate(vectors[start:start + 5000])])
threading.Thread(target=store.build_index, args=("k", 1), daemon=True).start()
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    builders = children(store.pid)
    if builders:
        print(store.pid, builders[0], flush=True)
        os._exit(0)  # the service gone in the middle of the build
    time.sleep(0.01)
os._exit(1)
"""


def test_a_store_process_whose_parent_died_mid_build_ends_and_ends_the_build(tmp_path):
    root = tmp_path / "collections"
    out = subprocess.run([sys.executable, "-c", PARENT_DIES_DURING_A_BUILD, str(root)], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    store_pid, builder_pid = map(int, out.stdout.split())
    # the build alone runs ~60 s on 2 cores: the store process ends within its close's bound, the build with it
    assert wait_gone(store_pid, timeout=_edge_server.CLOSE_WAIT_S + 10) and wait_gone(builder_pid, timeout=5)
    assert count_after_release(root) == 40_000
