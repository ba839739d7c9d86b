"""Building a collection's vector index (HNSW graph, quantized vectors) without freezing the service.

qdrant-edge builds them in ``EdgeShard.optimize()``, which holds the GIL for its whole run (minutes at
100k points): run in the serving process, it would stop every thread. So the build runs in a child process
on a copy of the shard, and the serving process switches to the copy when it is done:

1. Under the collection's write gate (writes wait, searches go on): flush, copy the shard folder to
   ``shard-<ns>/``, and start recording writes.
2. A child process (``python -m sightline.ingest.vectors._edge_index``) loads the copy with the collection's
   HNSW and quantization settings, runs ``optimize()`` and flushes; then gives the copy an empty WAL that
   numbers on from its last operation (`empty_wal`) and reads its files back into the page cache
   (`read_into_page_cache`). Meanwhile the serving process serves searches and writes from the old shard.
3. The serving process loads the new shard, applies the writes recorded meanwhile, and, under the
   collection's lock (operations in flight finish first), applies the last few, points ``current_shard``
   at the new folder (the switch; a crash before it keeps the old shard, and the next opening removes the
   new folder), swaps the shard in and closes the old one, whose folder is then removed.

Loading and closing a shard hold the GIL (qdrant-edge-py does not release it there), so they are the pause the
process serving the store sees (the service runs it in a process of its own: `edge_process`), and the build
makes the load read little: what the child writes is memory-mapped and read on first use (`edge_config`: HNSW
graph, int8 vectors, id tracker, payloads and their indexes, and the original vectors of a quantized or on_disk
collection); the WAL it leaves holds nothing to decode again (a flushed WAL keeps up to two 32 MiB segments of
operations already applied, which every load decodes); and the files the load reads are in the page cache (the
engine drops them from it when it closes a shard). The switch-over's load then costs 63-70 ms of CPU at 100k x
128-d (179 ms before) and 68-97 ms at 1M x 384-d (1.4-1.9 s before); the old shard's close 30 ms, but 0.5 s at
1M when that shard was never built: the engine drops its files from the page cache (71 % of it) and frees its
in-RAM id tracker and indexes (docs/scaling.md).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import qdrant_edge as qe

from sightline.errors import ErrorCode, SightlineError
from sightline.ingest.disk import check_free
from sightline.ingest.vectors._edge_collection import (
    SHARD_DIR,
    EdgeCollection,
    edge_config,
    payload_indexes_to_disk,
    read_into_page_cache,
    set_current_shard,
    write_atomic,
)
from sightline.ingest.vectors.base import CollectionNotFound, CollectionParams, StoreError
from sightline.lifetime import die_with_parent

logger = logging.getLogger(__name__)

BUILD_TIMEOUT_S = 6 * 3600.0
WAL_DIR = "wal"
WAL_FIRST_INDEX = "first-index"  # {"ack_index": N}: operations up to N are in the segments


@dataclass
class IndexBuild:
    """What a build did: vectors indexed; seconds spent copying the shard (writes wait), building it (the
    child), and switching over: in all, loading the new shard (holds the GIL), holding the collection's lock
    (its searches wait) and closing the old shard (holds the GIL); and the CPU seconds of the load and the
    close, which are how long they would hold the GIL on an idle machine."""

    indexed_vectors: int
    copy_s: float
    build_s: float
    switch_s: float
    locked_s: float
    load_s: float
    close_s: float
    load_cpu_s: float
    close_cpu_s: float

    def to_dict(self) -> dict:
        return asdict(self)


def build_index(col: EdgeCollection, indexing_threshold_kb: int | None = None) -> IndexBuild:
    """Build ``col``'s vector index in a child process and switch to it; searches and writes go on meanwhile.
    ``indexing_threshold_kb``: segments with fewer KB of vectors stay unindexed (the engine's default when
    None; exact search is as fast below about 10 MB)."""
    t0 = time.perf_counter()
    new_dir = _start(col)
    t1 = time.perf_counter()
    try:
        indexed = _run_child(col, str(new_dir), indexing_threshold_kb)
        t2 = time.perf_counter()
        switch = _switch(col, new_dir)
    except Exception as e:
        _abandon(col, new_dir)
        if col.closed and not isinstance(e, SightlineError):
            raise CollectionNotFound(col.name) from e
        raise
    t3 = time.perf_counter()
    shutil.rmtree(switch.old_dir, ignore_errors=True)
    times = (t1 - t0, t2 - t1, t3 - t2, switch.locked_s, switch.load_s, switch.close_s, switch.load_cpu_s,
             switch.close_cpu_s)
    return IndexBuild(indexed, *(round(t, 3) for t in times))


def _start(col: EdgeCollection) -> Path:
    """Copy the shard (writes wait, searches go on) and start recording writes; the copy's folder."""
    with col.lock.read(), col.write_gate:
        if col.closed:
            raise CollectionNotFound(col.name)
        if col.recording is not None:
            raise SightlineError(ErrorCode.CONFLICT, f"an index of {col.name!r} is already being built",
                                 where="collection", status=409)
        new_dir = col.path / f"{SHARD_DIR}-{time.time_ns()}"
        check_free(col.path, sum(f.stat().st_blocks * 512 for f in col.shard_dir.rglob("*") if f.is_file()))
        col.shard.flush()
        shutil.copytree(col.shard_dir, new_dir)
        col.recording = []
        return new_dir


def _abandon(col: EdgeCollection, new_dir: Path) -> None:
    with col.write_gate:
        col.recording = None
    shutil.rmtree(new_dir, ignore_errors=True)


def _run_child(col: EdgeCollection, shard_dir: str, indexing_threshold_kb: int | None) -> int:
    args = [sys.executable, "-m", __name__, shard_dir, json.dumps(col.params.to_dict()),
            json.dumps(indexing_threshold_kb), str(os.getpid())]
    try:
        done = subprocess.run(args, capture_output=True, text=True, errors="replace", timeout=BUILD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise StoreError(f"building the index of {col.name!r} took over {BUILD_TIMEOUT_S:.0f} s",
                         where=col.name) from None
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        raise StoreError(f"building the index of {col.name!r} failed: {lines[-1] if lines else done.returncode}",
                         where=col.name)
    return int(json.loads(done.stdout.strip().splitlines()[-1])["indexed_vectors"])


@dataclass
class _Switch:
    old_dir: Path
    load_s: float
    locked_s: float
    close_s: float
    load_cpu_s: float
    close_cpu_s: float


def _switch(col: EdgeCollection, new_dir: Path) -> _Switch:
    """Load the new shard, catch it up with the writes made meanwhile and put it in the old one's place,
    then close the old one. The load and the close hold the GIL (see above); their CPU is this thread's (the
    engine loads on it; other threads' searches go on meanwhile and would count in the process's)."""
    started, cpu_started = time.perf_counter(), time.thread_time()
    new = qe.EdgeShard.load(str(new_dir))
    loaded, cpu_loaded = time.perf_counter(), time.thread_time()
    try:
        applied = _replay(col, new, 0)
        with col.lock.write(), col.write_gate:
            locked_at = time.perf_counter()
            if col.closed:  # deleted, or the store closed, during the build
                raise CollectionNotFound(col.name)
            _replay(col, new, applied)  # in the new shard's WAL once applied: no flush needed
            set_current_shard(col.path, new_dir)  # the switch: from here on the new shard is the one
            old, old_dir = col.shard, col.shard_dir
            col.shard, col.shard_dir, col.recording = new, new_dir, None
        unlocked, cpu_unlocked = time.perf_counter(), time.thread_time()
    except BaseException:
        new.close()
        raise
    try:
        old.close()  # no operation uses it any more
    except Exception as e:  # noqa: BLE001 - the switch is done; its folder goes anyway
        logger.warning("closing the replaced shard of %s failed: %s", col.name, e)
    return _Switch(old_dir, loaded - started, unlocked - locked_at, time.perf_counter() - unlocked,
                   cpu_loaded - cpu_started, time.thread_time() - cpu_unlocked)


def _replay(col: EdgeCollection, shard: qe.EdgeShard, start: int) -> int:
    """Apply the writes recorded from ``start`` on to ``shard``; the number recorded so far."""
    recorded = col.recording or []
    end = len(recorded)
    for operation in recorded[start:end]:
        shard.update(operation)
    return end


def _build(shard_dir: str, params: CollectionParams, indexing_threshold_kb: int | None) -> int:
    """In the child: optimise the shard with the collection's settings; the vectors indexed. The child
    yields the CPU to the service (lowest priority, one core left to it)."""
    os.nice(19)
    threads = max(1, (os.cpu_count() or 2) - 1)
    config = edge_config(params, qe.EdgeOptimizersConfig(indexing_threshold=indexing_threshold_kb), threads)
    shard = qe.EdgeShard.load(shard_dir, config)
    try:
        payload_indexes_to_disk(shard)
        shard.optimize()
        shard.flush()
        indexed = int(shard.info().indexed_vectors_count)
    finally:
        shard.close()
    empty_wal(Path(shard_dir))
    read_into_page_cache(Path(shard_dir))
    return indexed


def empty_wal(shard_dir: Path) -> None:
    """Replace the WAL of a flushed, closed shard by an empty one that numbers on from its last operation.

    A flushed WAL keeps up to two 32 MiB segments of operations already in the segments, and every load
    decodes them again (CBOR and CRC) under the GIL: half the switch-over load's CPU at 100k x 128-d. The
    empty WAL is the engine's own (the first segment of a new shard), renamed to start after the shard's last
    operation: the engine ignores an operation on a point whose version is at least the operation's number, so
    a WAL that numbered from 0 again would drop later updates of existing points (tested)."""
    last = _last_operation(shard_dir)
    scratch = shard_dir / "wal-empty"
    tiny = qe.EdgeConfig(vectors=qe.EdgeVectorParams(size=1, distance=qe.Distance.Dot))
    qe.EdgeShard.create(str(scratch), tiny).close()
    segment = min((scratch / WAL_DIR).glob("open-*"), key=lambda p: int(p.name.split("-")[1]))
    wal = shard_dir / WAL_DIR
    shutil.rmtree(wal)
    wal.mkdir()
    segment.rename(wal / f"closed-{last + 1}")
    write_atomic(wal / WAL_FIRST_INDEX, json.dumps({"ack_index": last}))
    _fsync(wal / f"closed-{last + 1}", wal)
    shutil.rmtree(scratch)


def _fsync(*paths: Path) -> None:
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _last_operation(shard_dir: Path) -> int:
    """The number of the shard's last operation: the WAL's acknowledged index (a flush acknowledges all it
    applied), or a segment's version if one is higher."""
    acked = int(json.loads((shard_dir / WAL_DIR / WAL_FIRST_INDEX).read_text("utf-8"))["ack_index"])
    versions = (json.loads(p.read_text("utf-8")).get("version") or 0 for p in shard_dir.glob("segments/*/segment.json"))
    return max([acked, *versions])


if __name__ == "__main__":
    die_with_parent(signal.SIGKILL)  # a store process that ended (its service gone) leaves no build running
    if os.getppid() != int(sys.argv[4]):  # it ended before the signal was set
        sys.exit("the process that asked for this build has ended")
    indexed = _build(sys.argv[1], CollectionParams.from_dict(json.loads(sys.argv[2])), json.loads(sys.argv[3]))
    print(json.dumps({"indexed_vectors": indexed}))
