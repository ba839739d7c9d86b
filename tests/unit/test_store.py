"""Contract tests of the vector store, run against both implementations:
the embedded edge shard and qdrant-client local mode (standing in for a Qdrant server)."""

from __future__ import annotations

import json
import math
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sightline.errors import ErrorCode, SightlineError
from sightline.ingest.vectors import (
    CollectionExists,
    CollectionNotFound,
    CollectionParams,
    Point,
    SearchFilters,
    StoreError,
    VectorStore,
    open_store,
    validate_collection_name,
)

DIM = 8
BACKENDS = ["edge", "qdrant-local"]
CAMERAS = ["Canon EOS R5", "Nikon Z6", "Apple iPhone 13"]
FORMATS = ["jpeg", "png", "heic"]
FOLDERS = ["/photos/2021", "/photos/2021/summer", "/photos/2022", "/scans"]


def pid(i: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"sightline-test-{i}"))


def unit(v: list[float]) -> list[float]:
    n = math.sqrt(sum(x * x for x in v))
    return [x / n for x in v]


def vec(i: int) -> list[float]:
    """Point i lies near axis i % DIM, tilted a little towards the next axis by i // DIM."""
    v = [0.0] * DIM
    v[i % DIM] = 1.0
    v[(i + 1) % DIM] = 0.1 * (i // DIM)
    return unit(v)


def ancestors(folder: str) -> list[str]:
    parts = folder.strip("/").split("/")
    return ["/" + "/".join(parts[: k + 1]) for k in range(len(parts))]


def payload(i: int) -> dict:
    folder = FOLDERS[i % len(FOLDERS)]
    path = f"{folder}/img_{i:03d}.{FORMATS[i % 3]}"
    return {
        "path": path,
        "folder": folder,
        "folder_prefixes": ancestors(folder),
        "camera": CAMERAS[i % 3],
        "format": FORMATS[(i // 2) % 3],
        "taken_at_ts": 1_600_000_000.0 + 86_400.0 * i,
        "sha256": f"{i % 10:064x}",  # points i and i + 10 have the same content
        "lens": "50mm" if i % 4 == 0 else "35mm",
        "caption": f"photo number {i}",
    }


N = 24
POINTS = [Point(id=pid(i), vector=vec(i), payload=payload(i)) for i in range(N)]


def ids_where(pred: Callable[[dict], bool]) -> set[str]:
    return {p.id for p in POINTS if pred(p.payload)}


# --------------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(params=BACKENDS)
def opener(request, tmp_path: Path) -> Iterator[Callable[[], VectorStore]]:
    """Opens (and reopens) the store of one backend on one data folder; closes what it opened."""
    opened: list[VectorStore] = []
    url = None if request.param == "edge" else f"local:{tmp_path / 'qdrant'}"

    def open_() -> VectorStore:
        store = open_store(tmp_path, qdrant_url=url)
        opened.append(store)
        return store

    open_.backend = request.param  # type: ignore[attr-defined]
    open_.data_dir = tmp_path  # type: ignore[attr-defined]
    yield open_
    for store in opened:
        store.close()


@pytest.fixture()
def store(opener) -> VectorStore:
    return opener()


@pytest.fixture()
def filled(store: VectorStore) -> VectorStore:
    store.create_collection("photos", CollectionParams(vector_size=DIM, metadata={"backend": "test"}))
    store.upsert("photos", POINTS[:10])
    store.upsert("photos", POINTS[10:])
    return store


@pytest.fixture(scope="module", params=BACKENDS)
def shared(request, tmp_path_factory) -> Iterator[VectorStore]:
    """The filled "photos" collection, made once per backend for the tests that only read it
    (creating an edge collection persists six payload indexes: 0.3-1 s on a busy machine)."""
    data_dir = tmp_path_factory.mktemp(f"shared-{request.param}")
    url = None if request.param == "edge" else f"local:{data_dir / 'qdrant'}"
    store = open_store(data_dir, qdrant_url=url)
    store.create_collection("photos", CollectionParams(vector_size=DIM))
    store.upsert("photos", POINTS)
    yield store
    assert store.count("photos") == N, "a read-only test changed the shared collection"
    store.close()


@pytest.fixture(scope="module", params=BACKENDS)
def scratch_store(request, tmp_path_factory) -> Iterator[VectorStore]:
    data_dir = tmp_path_factory.mktemp(f"scratch-{request.param}")
    url = None if request.param == "edge" else f"local:{data_dir / 'qdrant'}"
    store = open_store(data_dir, qdrant_url=url)
    store.create_collection("c", CollectionParams(vector_size=DIM))
    yield store
    store.close()


@pytest.fixture()
def scratch(scratch_store: VectorStore) -> VectorStore:
    """An emptied collection "c" (DIM, Cosine) for tests that write points but need no fresh
    collection; emptying is much cheaper than creating."""
    while True:
        page, _ = scratch_store.scroll("c", limit=1000)
        if not page:
            return scratch_store
        scratch_store.delete_points("c", [p.id for p in page])


def collection_dir(opener, name: str) -> Path:
    if opener.backend == "edge":
        return opener.data_dir / "collections" / name
    return opener.data_dir / "qdrant" / "collection" / name


# --------------------------------------------------------------------------------------------------
# Collections


def test_create_list_info_delete(opener, store: VectorStore):
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
    assert info.backend == ("embedded" if opener.backend == "edge" else "qdrant")
    assert info.status in ("ok", "green")
    store.create_collection("beta", CollectionParams(vector_size=3))

    assert [c.name for c in store.list_collections()] == ["alpha", "beta"]
    again = store.collection_info("alpha")
    assert again.params == params and again.params.metadata["embedding_model"] == "all-MiniLM-L6-v2"
    again.params.metadata["dimension"] = -1  # info hands out copies
    assert store.collection_info("alpha").params.metadata["dimension"] == DIM
    json.dumps(again.to_dict())  # serialisable as is
    assert again.to_dict()["params"]["hnsw_m"] == 32
    assert collection_dir(opener, "alpha").is_dir()

    store.delete_collection("alpha")
    assert [c.name for c in store.list_collections()] == ["beta"]
    assert not collection_dir(opener, "alpha").exists()
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
    ],
    ids=["info", "delete", "upsert", "delete_points", "retrieve", "search", "scroll", "count", "facet"],
)
def test_unknown_collection_not_found(store: VectorStore, call):
    with pytest.raises(CollectionNotFound) as exc:
        call(store)
    assert exc.value.code == ErrorCode.NOT_FOUND and exc.value.status == 404


BAD_NAMES = ["../x", "..", "", "a" * 65, "has space", "a/b", "x\n", ".hidden", "-x", "_x", "naïve", "a\\b"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_names_refused(opener, store: VectorStore, name: str):
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


def test_longest_and_odd_good_names(store: VectorStore):
    for name in ("a" * 64, "0", "My_Photos-2024"):
        assert validate_collection_name(name) == name
    store.create_collection("a" * 64, CollectionParams(vector_size=2))
    assert [c.name for c in store.list_collections()] == ["a" * 64]


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
    store = scratch
    store.upsert("c", [Point(pid(1), vec(1), {"v": 1})])
    store.upsert("c", [Point(pid(1), vec(2), {"v": 2})])
    store.upsert("c", [Point(pid(1), vec(2), {"v": 2})])
    assert store.count("c") == 1
    (p,) = store.retrieve("c", [pid(1)], with_vectors=True)
    assert p.payload == {"v": 2}  # the last write wins, payload replaced not merged
    assert p.vector == pytest.approx(vec(2), abs=1e-6)


def test_upsert_validates_before_writing(scratch: VectorStore):
    store = scratch
    with pytest.raises(SightlineError) as exc:
        store.upsert("c", [POINTS[0], Point(pid(99), [1.0, 2.0], {})])
    assert exc.value.status == 422 and exc.value.where == "points[1].vector"
    with pytest.raises(SightlineError) as exc:
        store.upsert("c", [Point("not-a-uuid", vec(0), {})])
    assert exc.value.status == 422 and exc.value.where == "id"
    with pytest.raises(SightlineError):
        store.upsert("c", [Point(pid(0), None, {})])
    assert store.count("c") == 0  # the good point of the bad batch was not written either


def test_ids_come_back_as_given(scratch: VectorStore):
    store = scratch
    given = str(uuid.uuid4())
    store.upsert("c", [Point(given, vec(0), {})])
    assert store.search("c", vec(0))[0].id == given
    assert store.scroll("c")[0][0].id == given
    assert store.retrieve("c", [given.upper()])[0].id == given  # canonical form


def test_retrieve_with_and_without_vectors(shared: VectorStore):
    missing = str(uuid.uuid4())
    got = shared.retrieve("photos", [pid(5), missing, pid(2)])
    assert [p.id for p in got] == [pid(5), pid(2)]  # asked order, missing simply absent
    assert all(p.vector is None for p in got)
    assert got[0].payload == payload(5)

    with_v = shared.retrieve("photos", [pid(5)], with_vectors=True)
    assert len(with_v[0].vector) == DIM
    assert with_v[0].vector == pytest.approx(vec(5), abs=1e-6)
    assert shared.retrieve("photos", []) == []


def test_delete_points(scratch: VectorStore):
    scratch.upsert("c", POINTS)
    scratch.delete_points("c", [pid(0), pid(1), str(uuid.uuid4())])  # unknown ids are fine
    assert scratch.count("c") == N - 2
    assert scratch.retrieve("c", [pid(0), pid(1), pid(2)])[0].id == pid(2)
    assert pid(0) not in {p.id for p in scratch.search("c", vec(0), limit=N)}


# --------------------------------------------------------------------------------------------------
# Search


def test_search_nearest_first_with_cosine_scores(shared: VectorStore):
    for i in (0, 3, 13):
        hits = shared.search("photos", vec(i), limit=5)
        assert len(hits) == 5
        assert hits[0].id == pid(i)
        assert hits[0].score == pytest.approx(1.0, abs=1e-5)
        assert hits[0].payload == payload(i)
        scores = [h.score for h in hits]
        assert scores == sorted(scores, reverse=True)
        assert all(-1.0 - 1e-6 <= s <= 1.0 + 1e-6 for s in scores)
        # The runner-up is a point on the same axis (i +- DIM), not some other axis.
        assert int(hits[1].payload["path"][-8:-5]) % DIM == i % DIM


def test_search_unnormalised_query_and_limit(shared: VectorStore):
    hits = shared.search("photos", [5.0 * x for x in vec(4)], limit=3)
    assert [h.id for h in hits][0] == pid(4)
    assert hits[0].score == pytest.approx(1.0, abs=1e-5)  # cosine ignores the query's length
    assert len(shared.search("photos", vec(4), limit=N + 10)) == N
    with pytest.raises(SightlineError):
        shared.search("photos", vec(4), limit=0)
    with pytest.raises(SightlineError) as exc:
        shared.search("photos", [1.0, 0.0])
    assert exc.value.status == 422


def test_score_threshold(shared: VectorStore):
    everything = shared.search("photos", vec(2), limit=N)
    threshold = 0.5
    above = shared.search("photos", vec(2), limit=N, score_threshold=threshold)
    assert 0 < len(above) < len(everything)
    assert all(h.score >= threshold for h in above)
    assert {h.id for h in above} == {h.id for h in everything if h.score >= threshold}


FILTER_CASES = [
    (SearchFilters(taken_after=1_600_000_000.0 + 86_400 * 5), lambda p: p["taken_at_ts"] >= 1_600_000_000 + 86_400 * 5),
    (SearchFilters(taken_before=1_600_000_000.0 + 86_400 * 3), lambda p: p["taken_at_ts"] <= 1_600_000_000 + 86_400 * 3),
    (
        SearchFilters(taken_after=1_600_000_000.0 + 86_400 * 4, taken_before=1_600_000_000.0 + 86_400 * 9),
        lambda p: 1_600_000_000 + 86_400 * 4 <= p["taken_at_ts"] <= 1_600_000_000 + 86_400 * 9,
    ),
    (SearchFilters(camera="Nikon Z6"), lambda p: p["camera"] == "Nikon Z6"),
    (SearchFilters(camera="Nikon"), lambda p: False),  # exact, not a prefix
    (SearchFilters(folder="/photos"), lambda p: p["folder"].startswith("/photos/")),
    (SearchFilters(folder="/photos/2021"), lambda p: p["folder"].startswith("/photos/2021")),  # + summer
    (SearchFilters(folder="/photos/2021/summer"), lambda p: p["folder"] == "/photos/2021/summer"),
    (SearchFilters(folder="/phot"), lambda p: False),
    (SearchFilters(format="png"), lambda p: p["format"] == "png"),
    (SearchFilters(sha256=f"{3:064x}"), lambda p: p["sha256"] == f"{3:064x}"),
    (SearchFilters(path="/scans/img_003.jpeg"), lambda p: p["path"] == "/scans/img_003.jpeg"),
    (
        SearchFilters(camera="Canon EOS R5", folder="/photos", taken_before=1_600_000_000.0 + 86_400 * 15),
        lambda p: p["camera"] == "Canon EOS R5"
        and p["folder"].startswith("/photos/")
        and p["taken_at_ts"] <= 1_600_000_000 + 86_400 * 15,
    ),
    (SearchFilters(), lambda p: True),
]


@pytest.mark.parametrize("filters, pred", FILTER_CASES, ids=[f"f{i}" for i in range(len(FILTER_CASES))])
def test_filters_filter(shared: VectorStore, filters: SearchFilters, pred):
    expected = ids_where(pred)
    if filters != SearchFilters():
        assert len(expected) < N  # the case really excludes something
    hits = shared.search("photos", vec(0), limit=N, filters=filters)
    assert {h.id for h in hits} == expected
    assert shared.count("photos", filters) == len(expected)
    page, _ = shared.scroll("photos", limit=N, filters=filters)
    assert {p.id for p in page} == expected


def test_sanity_of_filter_data():
    # Guard the table above: these cases must have matches to mean anything.
    assert len(ids_where(lambda p: p["folder"] == "/photos/2021/summer")) == 6
    assert len(ids_where(lambda p: p["sha256"] == f"{3:064x}")) == 3
    assert len(ids_where(lambda p: p["path"] == "/scans/img_003.jpeg")) == 1


# --------------------------------------------------------------------------------------------------
# Scroll, count, facet


def test_scroll_pages_through_everything_once(shared: VectorStore):
    seen: list[str] = []
    offset = None
    pages = 0
    while True:
        page, offset = shared.scroll("photos", limit=5, offset=offset)
        pages += 1
        assert len(page) <= 5
        seen += [p.id for p in page]
        assert all(p.vector is None and p.payload for p in page)
        if offset is None:
            break
        assert pages < 20
    assert pages == math.ceil(N / 5)
    assert len(seen) == len(set(seen)) == N
    assert set(seen) == {p.id for p in POINTS}


def test_scroll_with_vectors_and_filter(shared: VectorStore):
    filters = SearchFilters(format="heic")
    expected = ids_where(lambda p: p["format"] == "heic")
    seen, offset = [], None
    while True:
        page, offset = shared.scroll("photos", limit=3, offset=offset, filters=filters, with_vectors=True)
        seen += page
        if offset is None:
            break
    assert {p.id for p in seen} == expected and len(seen) == len(expected)
    by_id = {p.id: p for p in POINTS}
    for p in seen:
        assert p.vector == pytest.approx(by_id[p.id].vector, abs=1e-6)


def test_count(shared: VectorStore):
    assert shared.count("photos") == N
    assert shared.count("photos", SearchFilters(camera="Apple iPhone 13")) == N // 3


def test_facet_counts(shared: VectorStore):
    cameras = Counter(p.payload["camera"] for p in POINTS)
    assert dict(shared.facet("photos", "camera")) == dict(cameras)
    formats = shared.facet("photos", "format")
    assert dict(formats) == dict(Counter(p.payload["format"] for p in POINTS))
    assert [c for _, c in formats] == sorted((c for _, c in formats), reverse=True)
    assert len(shared.facet("photos", "camera", limit=2)) == 2
    # A field without a payload index falls back to counting by scroll.
    assert dict(shared.facet("photos", "lens")) == {"50mm": 6, "35mm": 18}
    assert shared.facet("photos", "lens") == [("35mm", 18), ("50mm", 6)]
    assert shared.facet("photos", "no_such_field") == []


def test_facet_after_changes(scratch: VectorStore):
    scratch.upsert("c", POINTS)
    scratch.delete_points("c", [p.id for p in POINTS if p.payload["camera"] == "Nikon Z6"])
    assert "Nikon Z6" not in dict(scratch.facet("c", "camera"))


# --------------------------------------------------------------------------------------------------
# Persistence, honesty, concurrency


def test_survives_close_and_reopen_and_reports_ignored_params(opener, filled: VectorStore):
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

    # What each backend does not apply, stated before and after the reopen.
    if opener.backend == "edge":  # no index is built outside optimize_collection: exact search
        expected = ["hnsw_m", "hnsw_ef_construct", "quantization"]
    else:  # local mode: brute force in RAM
        expected = ["on_disk", "hnsw_m", "hnsw_ef_construct", "quantization"]
    assert created.ignored_params == info.ignored_params == expected
    assert reopened.collection_info("photos").ignored_params == ["hnsw_m", "hnsw_ef_construct"]
    assert info.to_dict()["ignored_params"] == expected

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
        assert exc.value.code == ErrorCode.STORE_FAILED and exc.value.status == 503 and exc.value.retriable
    assert "closed" in exc.value.message
    store.close()  # twice is fine


def test_concurrent_use_from_threads(scratch: VectorStore):
    store = scratch
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def writer(k: int) -> None:
        barrier.wait()
        for j in range(4):
            base = 1000 + k * 100 + j * 10
            store.upsert("c", [Point(pid(base + m), vec(base + m), {"camera": CAMERAS[k]}) for m in range(10)])

    def reader() -> None:
        barrier.wait()
        for _ in range(10):
            store.search("c", vec(1), limit=5, filters=SearchFilters(camera=CAMERAS[0]))
            store.count("c")
            store.scroll("c", limit=7)
            store.collection_info("c")

    with ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(writer, k) for k in range(3)] + [pool.submit(reader) for _ in range(3)]
        for f in futures:
            try:
                f.result()
            except BaseException as e:  # noqa: BLE001
                errors.append(e)
    assert errors == []
    assert store.count("c") == 120
    assert store.count("c", SearchFilters(camera=CAMERAS[2])) == 40


def test_edge_ignores_incomplete_collection_folders(tmp_path: Path):
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


def test_delete_while_open_then_use(store: VectorStore):
    store.create_collection("gone", CollectionParams(vector_size=DIM))
    assert store.search("gone", vec(0)) == []  # opened
    store.delete_collection("gone")
    with pytest.raises(CollectionNotFound):
        store.search("gone", vec(0))
    with pytest.raises(CollectionNotFound):
        store.delete_collection("gone")


def test_open_store_refuses_bad_urls(tmp_path: Path):
    for url in ("ftp://x", "qdrant:6333", "local:"):
        with pytest.raises(SightlineError) as exc:
            open_store(tmp_path, qdrant_url=url)
        assert exc.value.status == 422 and exc.value.where == "qdrant_url"


def test_facet_limit_not_eaten_by_deleted_values(scratch: VectorStore):
    store = scratch
    gone = [Point(pid(100 + i), vec(i), {"camera": f"Gone {i}"}) for i in range(5)]
    kept = [Point(pid(200 + i), vec(i), {"camera": f"Kept {i % 2}"}) for i in range(4)]
    store.upsert("c", gone + kept)
    store.delete_points("c", [p.id for p in gone])
    assert store.facet("c", "camera", limit=2) == [("Kept 0", 2), ("Kept 1", 2)]


KILLED_WRITER = """
import os, sys, uuid
sys.path.insert(0, {src!r})
from sightline.ingest.vectors import CollectionParams, Point, open_store
store = open_store({data!r}, qdrant_url={url!r})
store.create_collection("k", CollectionParams(vector_size=2))
store.upsert("k", [Point(str(uuid.UUID(int=i + 1)), [1.0, float(i)], {{"i": i}}) for i in range(50)])
os._exit(0)  # no close(), no flush at exit: as if killed right after the upsert was acknowledged
"""


def test_acknowledged_upserts_survive_a_killed_process(opener):
    import subprocess
    import sys

    src = str(Path(__file__).resolve().parents[2] / "src")
    url = None if opener.backend == "edge" else f"local:{opener.data_dir / 'qdrant'}"
    code = KILLED_WRITER.format(src=src, data=str(opener.data_dir), url=url)
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    store = opener()
    assert store.count("k") == 50
    assert store.retrieve("k", [str(uuid.UUID(int=50))])[0].payload == {"i": 49}


def test_edge_deferred_flush_still_keeps_writes(tmp_path: Path):
    from sightline.ingest.vectors.edge import EdgeStore

    with EdgeStore(tmp_path / "collections", flush_interval_s=3600) as store:
        store.create_collection("c", CollectionParams(vector_size=DIM))
        store.upsert("c", POINTS)
        store.delete_points("c", [pid(0)])
    with open_store(tmp_path) as store:
        assert store.count("c") == N - 1
