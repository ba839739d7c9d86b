"""The `VectorStore` contract, collections and points: every test runs against both adapters."""

from __future__ import annotations

import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from sightline.errors import ErrorCode, SightlineError, is_retriable
from sightline.ingest.vectors import (
    CollectionExists,
    CollectionNotFound,
    CollectionParams,
    Point,
    SearchFilters,
    StoreError,
    VectorStore,
)
from tests.ingest.vectors.backends import Opener, run_killed_writer
from tests.ingest.vectors.data import BAD_NAMES, CAMERAS, DIM, GOOD_NAMES, N, POINTS, payload, pid, vec

# --------------------------------------------------------------------------------------------------
# Collections


def test_create_list_info_delete(opener: Opener, store: VectorStore):
    params = CollectionParams(
        vector_size=DIM,
        distance="Dot",
        hnsw_m=32,
        hnsw_ef_construct=200,
        metadata={"backend": "lite", "embedding_model": "all-MiniLM-L6-v2", "dimension": DIM},
    )
    info = store.create_collection("alpha", params)
    assert info.name == "alpha"
    assert info.params == params
    assert info.points_count == 0
    assert info.backend == opener.backend.name
    assert info.status == opener.backend.status
    store.create_collection("beta", CollectionParams(vector_size=3))

    assert [c.name for c in store.list_collections()] == ["alpha", "beta"]
    again = store.collection_info("alpha")
    assert again.params == params
    again.params.metadata["dimension"] = -1  # info hands out copies
    assert store.collection_info("alpha").params.metadata["dimension"] == DIM
    assert json.loads(json.dumps(again.to_dict()))["params"]["hnsw_m"] == 32  # serialisable as is
    assert opener.backend.collection_dir(opener.data_dir, "alpha").is_dir()

    store.delete_collection("alpha")
    assert [c.name for c in store.list_collections()] == ["beta"]
    assert not opener.backend.collection_dir(opener.data_dir, "alpha").exists()
    with pytest.raises(CollectionNotFound):
        store.collection_info("alpha")
    # The name is free again, and the new collection starts empty.
    store.create_collection("alpha", CollectionParams(vector_size=DIM))
    assert store.count("alpha") == 0


def test_duplicate_create_conflicts(shared: VectorStore):
    with pytest.raises(CollectionExists) as exc:
        shared.create_collection("photos", CollectionParams(vector_size=4))
    assert exc.value.code == ErrorCode.CONFLICT and exc.value.status == 409
    assert shared.collection_info("photos").params.vector_size == DIM  # the first one is untouched
    assert shared.count("photos") == N


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.collection_info("nope"),
        lambda s: s.delete_collection("nope"),
        lambda s: s.upsert("nope", POINTS[:1]),
        lambda s: s.delete_points("nope", [pid(0)]),
        lambda s: s.retrieve("nope", [pid(0)]),
        lambda s: s.search("nope", vec(0)),
        lambda s: s.scroll("nope"),
        lambda s: s.count("nope"),
        lambda s: s.facet("nope", "camera"),
        lambda s: s.scroll_ordered("nope"),
        lambda s: s.search_text("nope", "photo"),
        lambda s: s.set_payload("nope", [pid(0)], {"x": 1}),
        lambda s: s.sample("nope", 3),
        lambda s: s.search_batch("nope", [vec(0)]),
    ],
    ids=["info", "delete", "upsert", "delete_points", "retrieve", "search", "scroll", "count", "facet",
         "scroll_ordered", "search_text", "set_payload", "sample", "search_batch"],
)
def test_unknown_collection_not_found(store: VectorStore, call):
    with pytest.raises(CollectionNotFound) as exc:
        call(store)
    assert exc.value.code == ErrorCode.NOT_FOUND and exc.value.status == 404


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_names_refused(opener: Opener, store: VectorStore, name: str):
    for call in (
        lambda: store.create_collection(name, CollectionParams(vector_size=DIM)),
        lambda: store.collection_info(name),
        lambda: store.delete_collection(name),
        lambda: store.count(name),
        lambda: store.upsert(name, POINTS[:1]),
    ):
        with pytest.raises(SightlineError) as exc:
            call()
        assert exc.value.code == ErrorCode.VALIDATION_ERROR
        assert exc.value.status == 422 and exc.value.where == "name"
    assert store.list_collections() == []
    assert not (opener.data_dir / "x").exists()  # "../x" made nothing outside the store


def test_longest_name_accepted(store: VectorStore):
    longest = max(GOOD_NAMES, key=len)
    store.create_collection(longest, CollectionParams(vector_size=2))
    assert [c.name for c in store.list_collections()] == [longest]


@pytest.mark.parametrize(
    "params, where",
    [
        (CollectionParams(vector_size=0), "vector_size"),
        (CollectionParams(vector_size=DIM, distance="cosine"), "distance"),  # type: ignore[arg-type]
        (CollectionParams(vector_size=DIM, hnsw_m=-1), "hnsw_m"),
        (CollectionParams(vector_size=DIM, hnsw_ef_construct=1), "hnsw_ef_construct"),
        (CollectionParams(vector_size=DIM, quantization="pq"), "quantization"),  # type: ignore[arg-type]
    ],
)
def test_bad_params_refused(store: VectorStore, params, where):
    with pytest.raises(SightlineError) as exc:
        store.create_collection("c", params)
    assert exc.value.status == 422 and exc.value.where == where
    assert store.list_collections() == []


# --------------------------------------------------------------------------------------------------
# Points


def test_upsert_is_idempotent_by_id(scratch: VectorStore):
    scratch.upsert("c", [Point(pid(1), vec(1), {"v": 1})])
    scratch.upsert("c", [Point(pid(1), vec(2), {"v": 2})])
    scratch.upsert("c", [Point(pid(1), vec(2), {"v": 2})])
    assert scratch.count("c") == 1
    (p,) = scratch.retrieve("c", [pid(1)], with_vectors=True)
    assert p.payload == {"v": 2}  # the last write wins, payload replaced not merged
    assert p.vector == pytest.approx(vec(2), abs=1e-6)


@pytest.mark.parametrize(
    "batch, where",
    [
        ([POINTS[0], Point(pid(99), [1.0, 2.0], {})], "points[1].vector"),  # wrong size
        ([POINTS[0], Point(pid(99), None, {})], "points[1].vector"),  # no vector
        ([POINTS[0], Point("not-a-uuid", vec(0), {})], "id"),
    ],
    ids=["size", "missing", "id"],
)
def test_upsert_validates_before_writing(scratch: VectorStore, batch: list[Point], where: str):
    with pytest.raises(SightlineError) as exc:
        scratch.upsert("c", batch)
    assert exc.value.status == 422 and exc.value.where == where
    assert scratch.count("c") == 0  # the good point of the bad batch was not written either


def test_ids_come_back_as_given(scratch: VectorStore):
    given = str(uuid.uuid4())
    scratch.upsert("c", [Point(given, vec(0), {})])
    assert scratch.search("c", vec(0))[0].id == given
    assert scratch.scroll("c")[0][0].id == given
    assert scratch.retrieve("c", [given.upper()])[0].id == given  # canonical form


def test_retrieve_with_and_without_vectors(shared: VectorStore):
    missing = str(uuid.uuid4())
    got = shared.retrieve("photos", [pid(5), missing, pid(2), pid(5)])
    assert [p.id for p in got] == [pid(5), pid(2)]  # asked order, missing absent, duplicates once
    assert [p.vector for p in got] == [None, None]
    assert got[0].payload == payload(5)

    (with_v,) = shared.retrieve("photos", [pid(5)], with_vectors=True)
    assert with_v.vector == pytest.approx(vec(5), abs=1e-6)
    assert shared.retrieve("photos", []) == []


def test_delete_points(scratch: VectorStore):
    scratch.upsert("c", POINTS)
    scratch.delete_points("c", [pid(0), pid(1), str(uuid.uuid4())])  # unknown ids are fine
    scratch.delete_points("c", [])
    assert scratch.count("c") == N - 2
    assert [p.id for p in scratch.retrieve("c", [pid(0), pid(1), pid(2)])] == [pid(2)]
    assert {h.id for h in scratch.search("c", vec(0), limit=N)} == {p.id for p in POINTS[2:]}


# --------------------------------------------------------------------------------------------------
# Persistence, honesty, concurrency


def test_survives_close_and_reopen_and_reports_ignored_params(opener: Opener, filled: VectorStore):
    params = CollectionParams(
        vector_size=DIM,
        distance="Euclid",
        on_disk=True,
        hnsw_m=8,
        hnsw_ef_construct=64,
        quantization="int8",
        metadata={"backend": "lite", "embedding_model": "m", "dimension": DIM, "nested": {"a": [1, 2]}},
    )
    created = filled.create_collection("other", params)
    # Along the first axis at 0, 1, 2, 3, 4: Euclid distances are easy to check.
    filled.upsert("other", [Point(pid(i), [float(i)] + [0.0] * (DIM - 1), {"i": i}) for i in range(5)])
    filled.delete_points("photos", [pid(7)])
    filled.close()

    reopened = opener()
    assert [c.name for c in reopened.list_collections()] == ["other", "photos"]
    info = reopened.collection_info("other")
    assert info.params == params
    assert info.points_count == 5
    hits = reopened.search("other", [3.2] + [0.0] * (DIM - 1), limit=3)
    assert [h.payload["i"] for h in hits] == [3, 4, 2]  # Euclid: nearest first ...
    assert hits[0].score == pytest.approx(0.2, abs=1e-5)  # ... and the score is a distance

    # What each backend does not apply, stated before and after the reopen: no index is built
    # (edge: exact search; local mode: brute force in RAM).
    expected = opener.backend.ignored_when_all_set
    assert created.ignored_params == info.ignored_params == info.to_dict()["ignored_params"] == expected
    assert reopened.collection_info("photos").ignored_params == ["hnsw_m", "hnsw_ef_construct"]

    assert reopened.collection_info("photos").params.metadata == {"backend": "test"}
    assert reopened.count("photos") == N - 1
    assert reopened.search("photos", vec(3), limit=1)[0].id == pid(3)
    assert reopened.retrieve("photos", [pid(3)], with_vectors=True)[0].vector == pytest.approx(vec(3), abs=1e-6)
    assert reopened.retrieve("photos", [pid(7)]) == []
    assert dict(reopened.facet("photos", "camera"))["Canon EOS R5"] == 8
    reopened.upsert("photos", [POINTS[7]])
    assert reopened.count("photos") == N


def test_closed_store_refuses(store: VectorStore):
    store.close()
    for call in (lambda: store.count("c"), store.list_collections):
        with pytest.raises(StoreError) as exc:
            call()
        assert exc.value.code == ErrorCode.STORE_FAILED and exc.value.status == 503
        assert is_retriable(exc.value.code)
        assert exc.value.message == "the vector store is closed"
    store.close()  # twice is fine


def test_concurrent_use_from_threads(scratch: VectorStore):
    barrier = threading.Barrier(6)

    def writer(k: int) -> None:
        barrier.wait()
        for j in range(4):
            base = 1000 + k * 100 + j * 10
            scratch.upsert("c", [Point(pid(base + m), vec(base + m), {"camera": CAMERAS[k]}) for m in range(10)])

    def reader() -> None:
        barrier.wait()
        for _ in range(10):
            scratch.search("c", vec(1), limit=5, filters=SearchFilters(camera=CAMERAS[0]))
            scratch.count("c")
            scratch.scroll("c", limit=7)
            scratch.collection_info("c")

    with ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(writer, k) for k in range(3)] + [pool.submit(reader) for _ in range(3)]
        for f in futures:
            f.result()  # re-raises what the thread raised
    assert scratch.count("c") == 120
    assert scratch.count("c", SearchFilters(camera=CAMERAS[2])) == 40


def test_delete_while_open_then_use(store: VectorStore):
    store.create_collection("gone", CollectionParams(vector_size=DIM))
    assert store.search("gone", vec(0)) == []  # opened
    store.delete_collection("gone")
    with pytest.raises(CollectionNotFound):
        store.search("gone", vec(0))
    with pytest.raises(CollectionNotFound):
        store.delete_collection("gone")


@pytest.mark.e2e
def test_acknowledged_upserts_survive_a_killed_process(opener: Opener):
    run_killed_writer(opener)
    store = opener()
    assert store.count("k") == 50
    assert store.retrieve("k", [str(uuid.UUID(int=50))])[0].payload == {"i": 49}
