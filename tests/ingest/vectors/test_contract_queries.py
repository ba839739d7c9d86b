"""The `VectorStore` contract, reading: search, filters, scroll, count and facets, against both adapters."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from sightline.errors import SightlineError
from sightline.ingest.vectors import Point, SearchFilters, VectorStore
from tests.ingest.vectors.data import DAY, N, POINTS, T0, ids_where, payload, pid, vec

# --------------------------------------------------------------------------------------------------
# Search

# Each point's nearest three: itself, then the points on the same axis (i +- 8, i +- 16).
NEAREST_THREE = {0: [0, 8, 16], 3: [3, 11, 19], 13: [13, 21, 5]}


@pytest.mark.parametrize("i", sorted(NEAREST_THREE))
def test_search_nearest_first_with_cosine_scores(shared: VectorStore, i: int):
    hits = shared.search("photos", vec(i), limit=5)
    assert [h.id for h in hits[:3]] == [pid(j) for j in NEAREST_THREE[i]]
    assert len(hits) == 5
    assert hits[0].score == pytest.approx(1.0, abs=1e-5)
    assert hits[0].payload == payload(i)
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert all(-1.0 - 1e-6 <= s <= 1.0 + 1e-6 for s in scores)  # cosine similarities


def test_search_unnormalised_query_and_limit(shared: VectorStore):
    hits = shared.search("photos", [5.0 * x for x in vec(4)], limit=3)
    assert hits[0].id == pid(4)
    assert hits[0].score == pytest.approx(1.0, abs=1e-5)  # cosine ignores the query's length
    assert len(shared.search("photos", vec(4), limit=N + 10)) == N


@pytest.mark.parametrize(
    "kwargs, where",
    [({"vector": [1.0, 0.0]}, "vector"), ({"limit": 0}, "limit"), ({"limit": True}, "limit")],
    ids=["short-vector", "zero-limit", "bool-limit"],
)
def test_search_refuses_bad_input(shared: VectorStore, kwargs: dict, where: str):
    args = {"vector": vec(4), **kwargs}
    with pytest.raises(SightlineError) as exc:
        shared.search("photos", args.pop("vector"), **args)
    assert exc.value.status == 422 and exc.value.where == where


def test_score_threshold(shared: VectorStore):
    above = shared.search("photos", vec(2), limit=N, score_threshold=0.5)
    assert [h.id for h in above] == [pid(2), pid(10), pid(18)]  # the others score below 0.2
    assert all(h.score >= 0.5 for h in above)


FILTER_CASES = [
    # date filters match "sort_ts" (the taken date, else the file's time); points without one never match
    (SearchFilters(taken_after=T0 + DAY * 5), lambda p: p.get("sort_ts", -1) >= T0 + DAY * 5),
    (SearchFilters(taken_before=T0 + DAY * 3), lambda p: T0 <= p.get("sort_ts", -1) <= T0 + DAY * 3),
    (
        SearchFilters(taken_after=T0 + DAY * 4, taken_before=T0 + DAY * 9),
        lambda p: T0 + DAY * 4 <= p.get("sort_ts", -1) <= T0 + DAY * 9,
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
        SearchFilters(camera="Canon EOS R5", folder="/photos", taken_before=T0 + DAY * 15),
        lambda p: p["camera"] == "Canon EOS R5"
        and p["folder"].startswith("/photos/")
        and T0 <= p.get("sort_ts", -1) <= T0 + DAY * 15,
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


def scroll_all(store: VectorStore, **kwargs) -> tuple[list[Point], list[int]]:
    """Every page of "photos": the points and the size of each page."""
    points: list[Point] = []
    sizes: list[int] = []
    offset = None
    for _ in range(N + 1):  # a bound, in case the offset never comes back None
        page, offset = store.scroll("photos", offset=offset, **kwargs)
        points += page
        sizes.append(len(page))
        if offset is None:
            return points, sizes
    raise AssertionError("scroll never ended")


def test_scroll_pages_through_everything_once(shared: VectorStore):
    points, sizes = scroll_all(shared, limit=5)
    assert sizes == [5, 5, 5, 5, 4]
    assert sorted(p.id for p in points) == sorted(p.id for p in POINTS)
    assert [p.id for p in points] == sorted(p.id for p in points)  # in id order
    assert all(p.vector is None and p.payload for p in points)


def test_scroll_with_vectors_and_filter(shared: VectorStore):
    points, _ = scroll_all(shared, limit=3, filters=SearchFilters(format="heic"), with_vectors=True)
    expected = ids_where(lambda p: p["format"] == "heic")
    assert sorted(p.id for p in points) == sorted(expected)
    by_id = {p.id: p for p in POINTS}
    for p in points:
        assert p.vector == pytest.approx(by_id[p.id].vector, abs=1e-6)


def test_scroll_only_the_payload_keys_asked(shared: VectorStore):
    keys = ["path", "folder_prefixes", "sort_ts", "no_such_key"]
    points, _ = scroll_all(shared, limit=10, filters=SearchFilters(folder="/photos/2021"), payload_keys=keys)
    expected = {pid(i): payload(i) for i in range(N) if payload(i)["folder"].startswith("/photos/2021")}
    assert {p.id: p.payload for p in points} == {
        point_id: {key: value for key, value in whole.items() if key in keys} for point_id, whole in expected.items()
    }  # a key the payload lacks ("sort_ts" of some, "no_such_key") is left out
    bare, _ = shared.scroll("photos", limit=3, payload_keys=[])
    assert [p.payload for p in bare] == [{}, {}, {}]


@pytest.mark.parametrize("keys", ["path", [1], ("path", None)], ids=["string", "int", "none"])
def test_scroll_refuses_bad_payload_keys(shared: VectorStore, keys):
    with pytest.raises(SightlineError) as exc:
        shared.scroll("photos", payload_keys=keys)
    assert exc.value.status == 422 and exc.value.where == "payload_keys"


def test_count(shared: VectorStore):
    assert shared.count("photos") == N
    assert shared.count("photos", SearchFilters(camera="Apple iPhone 13")) == N // 3


def test_facet_counts(shared: VectorStore):
    assert shared.facet("photos", "camera") == [("Apple iPhone 13", 8), ("Canon EOS R5", 8), ("Nikon Z6", 8)]
    formats = Counter(p.payload["format"] for p in POINTS)
    assert shared.facet("photos", "format") == sorted(formats.items(), key=lambda kv: (-kv[1], kv[0]))
    assert shared.facet("photos", "camera", limit=2) == [("Apple iPhone 13", 8), ("Canon EOS R5", 8)]
    # A field without a payload index falls back to counting by scroll.
    assert shared.facet("photos", "lens") == [("35mm", 18), ("50mm", 6)]
    assert shared.facet("photos", "no_such_field") == []
    folders = shared.facet("photos", "folder_prefixes")  # a list per point: each value counted
    assert folders == [
        ("/photos", 18), ("/photos/2021", 12), ("/photos/2021/summer", 6), ("/photos/2022", 6), ("/scans", 6)
    ]


def test_facet_after_changes(scratch: VectorStore):
    scratch.upsert("c", POINTS)
    scratch.delete_points("c", [p.id for p in POINTS if p.payload["camera"] == "Nikon Z6"])
    assert scratch.facet("c", "camera") == [("Apple iPhone 13", 8), ("Canon EOS R5", 8)]


def test_facet_limit_not_eaten_by_deleted_values(scratch: VectorStore):
    gone = [Point(pid(100 + i), vec(i), {"camera": f"Gone {i}"}) for i in range(5)]
    kept = [Point(pid(200 + i), vec(i), {"camera": f"Kept {i % 2}"}) for i in range(4)]
    scratch.upsert("c", gone + kept)
    scratch.delete_points("c", [p.id for p in gone])
    assert scratch.facet("c", "camera", limit=2) == [("Kept 0", 2), ("Kept 1", 2)]
