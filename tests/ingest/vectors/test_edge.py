"""What only the embedded store does: its folder layout, and when it flushes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import qdrant_edge as qe

from sightline.ingest.vectors import CollectionNotFound, CollectionParams, open_store
from sightline.ingest.vectors._edge_collection import EdgeCollection
from sightline.ingest.vectors.edge import EdgeStore
from tests.ingest.vectors.backends import EDGE, Opener, run_killed_writer
from tests.ingest.vectors.data import DIM, N, POINTS, pid


def test_ignores_incomplete_collection_folders(tmp_path: Path):
    leftover = tmp_path / "collections" / "half"
    (leftover / "shard").mkdir(parents=True)  # an interrupted create: no sightline.json
    with open_store(tmp_path) as store:
        assert store.list_collections() == []
        with pytest.raises(CollectionNotFound):
            store.count("half")
        store.create_collection("half", CollectionParams(vector_size=DIM))
        store.upsert("half", POINTS[:2])
        assert store.count("half") == 2
    assert json.loads((leftover / "sightline.json").read_text())["vector_size"] == DIM


def test_deferred_flush_still_keeps_writes_on_close(tmp_path: Path):
    with EdgeStore(tmp_path / "collections", flush_interval_s=3600) as store:
        store.create_collection("c", CollectionParams(vector_size=DIM))
        store.upsert("c", POINTS)
        store.delete_points("c", [pid(0)])
    with open_store(tmp_path) as store:
        assert store.count("c") == N - 1


@pytest.mark.e2e
def test_unflushed_writes_survive_a_killed_process(tmp_path: Path):
    """The write-ahead log alone brings back what was acknowledged but never flushed."""
    opener = Opener(EDGE, tmp_path)
    run_killed_writer(opener, flush_interval_s=3600)
    try:
        assert opener().count("k") == 50
    finally:
        opener.close_all()


class FakeShard:
    def __init__(self) -> None:
        self.flushes = 0
        self.closed = False

    def flush(self) -> None:
        self.flushes += 1

    def close(self) -> None:
        self.closed = True


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def collection(tmp_path: Path, shard: FakeShard, clock: FakeClock) -> EdgeCollection:
    return EdgeCollection(tmp_path / "c", shard, CollectionParams(vector_size=DIM), clock=clock)  # type: ignore[arg-type]


def test_flushes_at_most_every_interval_and_on_close(tmp_path: Path):
    shard, clock = FakeShard(), FakeClock()
    col = collection(tmp_path, shard, clock)
    col.written(1.0)
    clock.now += 0.5
    col.written(1.0)
    assert shard.flushes == 0
    clock.now += 0.5
    col.written(1.0)  # a second after the last flush
    assert shard.flushes == 1
    clock.now += 0.2
    col.written(1.0)
    col.close()  # flushes what is still pending
    assert (shard.flushes, shard.closed) == (2, True)


def test_interval_zero_flushes_every_write(tmp_path: Path):
    shard = FakeShard()
    col = collection(tmp_path, shard, FakeClock())
    for _ in range(3):
        col.written(0.0)
    col.close()  # nothing pending: no extra flush
    assert shard.flushes == 3


def test_older_collections_get_the_new_payload_indexes_when_opened(tmp_path: Path):
    """A collection made before "sort_ts" and "words" were indexed: ordered paging needs a range index
    and word search a full-text index, so opening it adds them."""
    with open_store(tmp_path) as store:
        store.create_collection("old", CollectionParams(vector_size=DIM))
        store.upsert("old", POINTS)
    shard_dir = str(tmp_path / "collections" / "old" / "shard")
    shard = qe.EdgeShard.load(shard_dir)
    for key in ("sort_ts", "words"):
        shard.update(qe.UpdateOperation.delete_field_index(key))
    shard.flush()
    assert not {"sort_ts", "words"} & set(shard.info().payload_schema)
    shard.close()

    with open_store(tmp_path) as store:
        page, _ = store.scroll_ordered("old", limit=3)
        assert [p.id for p in page] == sorted([pid(21), pid(22), pid(23)])  # the latest, ties by id
        assert len(store.search_text("old", "nikon", limit=N)) == 8
    shard = qe.EdgeShard.load(shard_dir)
    schema = shard.info().payload_schema
    shard.close()
    assert schema["sort_ts"].data_type == qe.PayloadSchemaType.Float
    assert schema["words"].data_type == qe.PayloadSchemaType.Text
