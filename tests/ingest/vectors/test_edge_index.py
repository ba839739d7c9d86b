"""The embedded store's index build: in a child process, with searches and writes going on, then switched to."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sightline.errors import SightlineError
from sightline.ingest.vectors import CollectionNotFound, CollectionParams, Point, StoreError, open_store
from sightline.ingest.vectors import _edge_index
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
