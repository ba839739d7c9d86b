"""The embedded store's index build: in a child process, with searches and writes going on, then switched to."""

from __future__ import annotations

import io
import json
import random
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
import qdrant_edge as qe

from sightline.errors import SightlineError
from sightline.ingest.vectors import CollectionNotFound, CollectionParams, Point, StoreError, open_store
from sightline.ingest.vectors import SearchFilters, _edge_collection, _edge_index
from sightline.ingest.vectors.edge import EdgeStore
from tests.ingest.vectors.data import pid, unit

DIM = 8
COUNT = 500  # 16 KB of vectors: over the 1 KB threshold the tests build with


def vector(i: int) -> list[float]:
    rng = random.Random(i)
    return unit([rng.gauss(0.0, 1.0) for _ in range(DIM)])


POINTS = [Point(pid(i), vector(i), {"i": i, "sort_ts": float(i)}) for i in range(COUNT)]


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[EdgeStore]:
    store = open_store(tmp_path)
    assert isinstance(store, EdgeStore)
    store.create_collection("c", CollectionParams(vector_size=DIM, hnsw_m=8, hnsw_ef_construct=32, quantization="int8"))
    store.upsert("c", POINTS)
    yield store
    store.close()


def during_build(monkeypatch: pytest.MonkeyPatch, action: Callable[[], None]) -> None:
    """Run ``action`` while the child process builds (before it starts and once it is done)."""
    real = _edge_index._run_child

    def run_child(*args):
        action()
        result = real(*args)
        action()
        return result

    monkeypatch.setattr(_edge_index, "_run_child", run_child)


def shard_folders(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in (tmp_path / "collections" / "c").iterdir() if p.name.startswith("shard"))


def test_build_applies_the_params_and_keeps_writes_made_meanwhile(
    store: EdgeStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    assert store.collection_info("c").ignored_params == ["hnsw_m", "hnsw_ef_construct", "quantization"]
    new_ids = iter(range(COUNT, COUNT + 10))
    searches: list[str] = []

    def meanwhile() -> None:
        searches.append(store.search("c", vector(7), limit=1)[0].id)
        i = next(new_ids)
        store.upsert("c", [Point(pid(i), vector(i), {"i": i, "sort_ts": float(i)})])
        store.delete_points("c", [pid(i - COUNT)])
        store.set_payload("c", [pid(100)], {"seen": i})

    during_build(monkeypatch, meanwhile)
    report = store.build_index("c", indexing_threshold_kb=1)

    assert report.indexed_vectors >= COUNT - 2
    assert searches == [pid(7), pid(7)]  # the old shard served searches during the build
    assert store.collection_info("c").ignored_params == []
    check_after_build(store)
    store.close()
    with open_store(tmp_path) as again:
        check_after_build(again)
    assert len(shard_folders(tmp_path)) == 1 and shard_folders(tmp_path) != ["shard"]


def check_after_build(store) -> None:
    assert store.count("c") == COUNT
    assert store.retrieve("c", [pid(0), pid(1)]) == []
    assert store.retrieve("c", [pid(100)])[0].payload["seen"] == COUNT + 1
    assert store.search("c", vector(COUNT + 1), limit=1)[0].id == pid(COUNT + 1)
    page, _ = store.scroll_ordered("c", limit=1)
    assert page[0].id == pid(COUNT + 1)


def test_failed_build_leaves_the_collection_as_it_was(
    store: EdgeStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    real = _edge_index._run_child
    monkeypatch.setattr(_edge_index, "_run_child", lambda col, _dir, kb: real(col, str(tmp_path / "nowhere"), kb))
    with pytest.raises(StoreError):
        store.build_index("c", indexing_threshold_kb=1)
    assert shard_folders(tmp_path) == ["shard"]
    store.upsert("c", [Point(pid(COUNT), vector(0), {})])
    assert store.count("c") == COUNT + 1
    assert store._get("c").recording is None  # writes are no longer recorded


def test_one_build_at_a_time(store: EdgeStore, monkeypatch: pytest.MonkeyPatch):
    errors: list[SightlineError] = []

    def second_build() -> None:
        with pytest.raises(SightlineError) as exc:
            store.build_index("c")
        errors.append(exc.value)

    monkeypatch.setattr(_edge_index, "_run_child", lambda *args: second_build() or 0)
    store.build_index("c")
    assert [e.status for e in errors] == [409]


def test_collection_deleted_during_the_build(store: EdgeStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(_edge_index, "_run_child", lambda *args: store.delete_collection("c") or 0)
    with pytest.raises(CollectionNotFound):
        store.build_index("c")
    assert not (tmp_path / "collections" / "c").exists()


def test_opening_removes_the_folders_of_unfinished_builds(store: EdgeStore, tmp_path: Path):
    store.close()
    leftover = tmp_path / "collections" / "c" / "shard-123"
    (leftover / "segments").mkdir(parents=True)  # a build interrupted before its switch
    with open_store(tmp_path) as again:
        assert again.count("c") == COUNT
    assert not leftover.exists()


def storage_types(tmp_path: Path) -> set[str]:
    """The storage type of every segment's vectors and payloads, as the engine wrote them."""
    types = set()
    for path in (tmp_path / "collections" / "c").glob("shard*/segments/*/segment.json"):
        config = json.loads(path.read_text())["config"]
        types |= {v["storage_type"] for v in config["vector_data"].values()}
        types.add(config["payload_storage_type"]["type"])
    return types


def built_placements(tmp_path: Path) -> list[tuple[str, str, str]]:
    """Where each indexed segment keeps its HNSW graph, int8 vectors and id tracker."""
    out = []
    for path in (tmp_path / "collections" / "c").glob("shard*/segments/*/segment.json"):
        config = json.loads(path.read_text())["config"]
        for vector in config["vector_data"].values():
            if vector["index"]["type"] == "hnsw":
                out.append((vector["index"]["options"].get("memory"),
                            vector["quantization_config"]["scalar"].get("memory"), config.get("id_tracker_memory")))
    return out


@pytest.mark.parametrize(("on_disk", "expected"), [
    (False, {"InRamChunkedMmap", "mmap"}),  # vectors read in whole when the shard loads
    (True, {"ChunkedMmap", "mmap"}),
])
def test_unquantized_vectors_follow_on_disk(tmp_path: Path, on_disk: bool, expected: set[str]):
    with open_store(tmp_path) as store:
        store.create_collection("c", CollectionParams(vector_size=DIM, on_disk=on_disk))
        store.upsert("c", POINTS[:10])
    assert storage_types(tmp_path) == expected


def test_built_shard_is_memory_mapped_and_reopens_with_the_same_answers(store: EdgeStore, tmp_path: Path):
    """A quantized collection's vectors and every payload are read on first use, not when the shard loads
    (what the switch-over load reads in whole stays small)."""
    store.build_index("c", indexing_threshold_kb=1)
    assert storage_types(tmp_path) == {"Mmap", "ChunkedMmap", "mmap"}
    assert built_placements(tmp_path) == [("cold", "cold", "cold")]
    payload_indexes = store._get("c").shard.info().payload_schema
    assert payload_indexes and all(index.params.memory == qe.Memory.Cold for index in payload_indexes.values())
    queries = [vector(i) for i in range(0, COUNT, 50)]

    def answers(s: EdgeStore) -> list[list[tuple[str, float]]]:
        return [[(h.id, round(h.score, 5)) for h in s.search("c", q, limit=10)] for q in queries]

    before = answers(store)
    store.close()
    with open_store(tmp_path) as again:
        assert answers(again) == before
    assert [hits[0][0] for hits in before] == [pid(i) for i in range(0, COUNT, 50)]


def test_searches_answer_through_the_switch_over(store: EdgeStore, monkeypatch: pytest.MonkeyPatch):
    """Searches are served while the new shard is loaded and caught up; one asked while the collection is
    locked for the swap waits and is answered by the new shard."""
    real = _edge_index._replay
    calls: list[int] = []
    waiting: list[Future] = []
    pool = ThreadPoolExecutor(max_workers=2)

    def replay(col, shard, start):
        calls.append(start)
        search = pool.submit(store.search, "c", vector(3), limit=1)
        if len(calls) == 1:  # the new shard is loaded; the old one still serves
            assert search.result(timeout=60)[0].id == pid(3)
        else:  # under the collection's lock
            waiting.append(search)
        return real(col, shard, start)

    monkeypatch.setattr(_edge_index, "_replay", replay)
    store.build_index("c", indexing_threshold_kb=1)
    assert len(calls) == 2
    assert waiting[0].result(timeout=60)[0].id == pid(3)
    pool.shutdown()


def test_a_build_moves_payload_indexes_made_in_ram_to_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Collections made before payload indexes were memory-mapped get them so at their next build."""
    in_ram = {key: qe.PayloadSchemaType.Keyword for key in ("camera", "format")}
    with monkeypatch.context() as patch:
        patch.setattr(_edge_collection, "_index_schemas", lambda: in_ram)
        store = open_store(tmp_path)
        store.create_collection("c", CollectionParams(vector_size=DIM, quantization="int8"))
    store.upsert("c", [Point(pid(i), vector(i), {"camera": f"cam {i % 3}", "sort_ts": float(i)}) for i in range(COUNT)])
    schema = store._get("c").shard.info().payload_schema
    assert [getattr(schema[key].params, "memory", None) for key in in_ram] == [None, None]
    store.build_index("c", indexing_threshold_kb=1)
    schema = store._get("c").shard.info().payload_schema
    assert [schema[key].params.memory == qe.Memory.Cold for key in in_ram] == [True, True]
    assert store.count("c", SearchFilters(camera="cam 1")) == len(range(1, COUNT, 3))
    store.close()


KILLED_AFTER_BUILD = """
import os, sys
sys.path.insert(0, {src!r})
from sightline.ingest.vectors import Point, open_store
store = open_store({data!r}, flush_interval_s=3600)  # nothing flushed after the build
store.build_index("c", indexing_threshold_kb=1)
store.upsert("c", [Point({old!r}, {vector!r}, {{"i": -1}}), Point({new!r}, {vector!r}, {{"i": -2}})])
store.set_payload("c", [{other!r}], {{"seen": 1}})
store.delete_points("c", [{gone!r}])
os._exit(0)  # killed: no flush, no close
"""


@pytest.mark.e2e
def test_writes_to_the_built_shard_survive_a_killed_process(store: EdgeStore, tmp_path: Path):
    """The built shard's WAL is a new, empty one (`empty_wal`): writes after the switch, to existing points
    as well as new ones, are in it and come back after a killed process."""
    store.close()
    src = str(Path(__file__).resolve().parents[3] / "src")
    code = KILLED_AFTER_BUILD.format(src=src, data=str(tmp_path), old=pid(0), new=pid(COUNT), other=pid(1),
                                     gone=pid(2), vector=vector(COUNT))
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    with open_store(tmp_path) as again:
        assert again.count("c") == COUNT
        found = {r.id: r.payload for r in again.retrieve("c", [pid(0), pid(COUNT), pid(1), pid(2)])}
        assert found == {pid(0): {"i": -1}, pid(COUNT): {"i": -2}, pid(1): {"i": 1, "sort_ts": 1.0, "seen": 1}}
        assert [h.id for h in again.search("c", vector(COUNT), limit=2)] in ([pid(0), pid(COUNT)], [pid(COUNT), pid(0)])


def test_the_built_shard_keeps_no_operation_in_its_wal(store: EdgeStore, tmp_path: Path):
    """Its WAL starts after the last operation, so the switch-over load decodes nothing again."""
    store.build_index("c", indexing_threshold_kb=1)
    wal = store._get("c").shard_dir / _edge_index.WAL_DIR
    last = json.loads((wal / _edge_index.WAL_FIRST_INDEX).read_text())["ack_index"]
    assert last > 0
    assert [p.name for p in wal.glob("closed-*")] == [f"closed-{last + 1}"]


class RecordingFile(io.FileIO):
    """A file that records the spans its reads returned."""

    def __init__(self, path: Path):
        super().__init__(path, "rb")
        self.spans: list[tuple[int, int]] = []

    def readinto(self, buffer) -> int:
        start = self.tell()
        n = super().readinto(buffer)
        self.spans.append((start, start + n))
        return n


def test_reading_back_reads_the_data_of_a_sparse_file_and_skips_its_holes(tmp_path: Path):
    """What `read_into_page_cache` reads of each file (the build's child reads its shard back with it)."""
    path = tmp_path / "sparse"
    with open(path, "wb") as f:
        f.write(b"a" * 4096)
        f.seek(64 << 20)
        f.write(b"b" * 4096)
        f.truncate(96 << 20)
    with RecordingFile(path) as f:
        _edge_collection._read_data(f, memoryview(bytearray(1 << 20)))
    read = sum(end - start for start, end in f.spans)
    assert f.spans[0][0] == 0 and any(start <= 64 << 20 < end for start, end in f.spans)
    assert read < 8 << 20  # the 92 MiB of holes are not read
