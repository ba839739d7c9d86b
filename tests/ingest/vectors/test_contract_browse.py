"""The `VectorStore` contract, browsing and review: ordered paging with its cursor, payload updates and
random samples, against both adapters."""

from __future__ import annotations

import base64
import random
import uuid
import json

import pytest

from sightline.errors import SightlineError
from sightline.ingest.vectors import CollectionParams, Point, SearchFilters, VectorStore
from tests.ingest.vectors.data import DAY, N, NO_SORT_TS, POINTS, T0, pid, vec


def ordered_ids(points: list[Point], descending: bool = True, key: str = "sort_ts") -> list[str]:
    """The ids in the documented order: by value (ties by id), then the points without one, by id."""
    valued = [p for p in points if key in p.payload]
    valued.sort(key=lambda p: (-p.payload[key] if descending else p.payload[key], p.id))
    return [p.id for p in valued] + sorted(p.id for p in points if key not in p.payload)


def browse_all(store: VectorStore, name: str = "photos", **kwargs) -> tuple[list[str], list[int]]:
    """Every page: the ids in the order returned, and the size of each page."""
    ids: list[str] = []
    sizes: list[int] = []
    cursor = None
    for _ in range(N * 4):  # a bound, in case the cursor never comes back None
        page, cursor = store.scroll_ordered(name, cursor=cursor, **kwargs)
        ids += [p.id for p in page]
        sizes.append(len(page))
        if cursor is None:
            return ids, sizes
    raise AssertionError("scroll_ordered never ended")


def forged(data: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode()


# --------------------------------------------------------------------------------------------------
# Ordered paging


@pytest.mark.parametrize("descending", [True, False], ids=["newest", "oldest"])
def test_scroll_ordered_pages_in_order_ties_by_id_missing_last(shared: VectorStore, descending: bool):
    ids, sizes = browse_all(shared, limit=5, descending=descending)
    assert sizes == [5, 5, 5, 5, 4]
    assert ids == ordered_ids(POINTS, descending)
    assert set(ids[-len(NO_SORT_TS):]) == {pid(i) for i in NO_SORT_TS}


def test_scroll_ordered_page_holds_payloads_and_last_page_says_so(shared: VectorStore):
    page, cursor = shared.scroll_ordered("photos", limit=N)
    assert cursor is None
    assert [p.id for p in page] == ordered_ids(POINTS)
    by_id = {p.id: p for p in POINTS}
    assert all(p.vector is None and p.payload == by_id[p.id].payload for p in page)


def test_scroll_ordered_by_another_float_field_with_filters(shared: VectorStore):
    filters = SearchFilters(camera="Nikon Z6")
    ids, _ = browse_all(shared, limit=3, order_key="taken_at_ts", descending=False, filters=filters)
    nikon = [p for p in POINTS if p.payload["camera"] == "Nikon Z6"]
    assert ids == ordered_ids(nikon, descending=False, key="taken_at_ts")
    assert len(ids) == 8


def test_scroll_ordered_run_of_equal_values_longer_than_a_page(scratch: VectorStore):
    same = [Point(pid(100 + i), vec(i), {"sort_ts": 5.0}) for i in range(12)]
    scratch.upsert("c", same + [Point(pid(200), vec(0), {"sort_ts": 9.0}), Point(pid(201), vec(1), {"sort_ts": 1})])
    ids, sizes = browse_all(scratch, "c", limit=5)
    assert ids == [pid(200)] + sorted(p.id for p in same) + [pid(201)]
    assert sizes == [5, 5, 4]


def test_scroll_ordered_is_stable_while_points_come_and_go(scratch: VectorStore):
    """Points added before and after the cursor's position, at its very value, and points removed:
    nothing is returned twice and nothing present throughout is skipped."""
    base = [Point(pid(i), vec(i), {"sort_ts": float(i // 2)}) for i in range(20)]  # values 9, 9, 8, 8, ...
    scratch.upsert("c", base)
    first, cursor = scratch.scroll_ordered("c", limit=7)
    seen = [p.id for p in first]
    edge = first[-1].payload["sort_ts"]
    assert edge == 6.0  # the page ends inside the run of two 6.0s
    removed = {p.id for p in base[2:6]}  # not yet listed
    scratch.delete_points("c", list(removed) + [first[0].id])  # one already listed too
    added = [Point(pid(300 + i), vec(i), {"sort_ts": v}) for i, v in enumerate([9.5, 6.0, 6.0, 3.5, 0.0, -1.0])]
    scratch.upsert("c", added)
    while cursor is not None:
        page, cursor = scratch.scroll_ordered("c", limit=7, cursor=cursor)
        seen += [p.id for p in page]
    assert len(seen) == len(set(seen)), "a point came twice"
    throughout = {p.id for p in base} - removed - {first[0].id}
    assert throughout <= set(seen), "a point present throughout was skipped"
    assert pid(300) not in seen  # added before the position: not listed on later pages
    assert {pid(303), pid(304), pid(305)} <= set(seen)  # added after it: listed
    values = [p.payload["sort_ts"] for p in scratch.retrieve("c", seen[7:])]
    assert values == sorted(values, reverse=True)


BAD_CURSORS = {
    "garbage": "not a cursor!",
    "not-json": base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    "json-list": forged([1, 2]),
    "missing-id": forged({"k": "sort_ts", "d": True, "v": 1.0}),
    "other-key": forged({"k": "taken_at_ts", "d": True, "v": 1.0, "i": pid(0)}),
    "other-direction": forged({"k": "sort_ts", "d": False, "v": 1.0, "i": pid(0)}),
    "string-value": forged({"k": "sort_ts", "d": True, "v": "1.0", "i": pid(0)}),
    "infinite-value": forged({"k": "sort_ts", "d": True, "v": 1e999, "i": pid(0)}),
    "bad-id": forged({"k": "sort_ts", "d": True, "v": 1.0, "i": "../../etc"}),
    "too-long": "A" * 5000,
    "not-a-string": 12,
}


@pytest.mark.parametrize("cursor", BAD_CURSORS.values(), ids=BAD_CURSORS.keys())
def test_scroll_ordered_refuses_a_bad_cursor(shared: VectorStore, cursor):
    with pytest.raises(SightlineError) as exc:
        shared.scroll_ordered("photos", limit=5, cursor=cursor)
    assert exc.value.status == 422 and exc.value.where == "cursor"


def test_a_well_formed_forged_cursor_is_just_a_position(shared: VectorStore):
    middle = T0 + DAY * 4  # points 12, 13, 14
    cursor = forged({"k": "sort_ts", "d": True, "v": middle, "i": pid(13)})
    page, _ = shared.scroll_ordered("photos", limit=N, cursor=cursor)
    expected = ordered_ids(POINTS)
    assert [p.id for p in page] == expected[expected.index(pid(13)) + 1:]


@pytest.mark.parametrize(
    "kwargs, where",
    [({"order_key": "camera"}, "order_key"), ({"order_key": "nope"}, "order_key"), ({"limit": 0}, "limit")],
)
def test_scroll_ordered_refuses_bad_input(shared: VectorStore, kwargs: dict, where: str):
    with pytest.raises(SightlineError) as exc:
        shared.scroll_ordered("photos", **kwargs)
    assert exc.value.status == 422 and exc.value.where == where


# --------------------------------------------------------------------------------------------------
# Payload updates


def test_set_payload_merges_keys(scratch: VectorStore):
    scratch.upsert("c", POINTS[:3])
    scratch.set_payload("c", [pid(0), pid(1).upper(), pid(999)], {"favourite": True, "camera": "Leica M6"})
    got = {p.id: p for p in scratch.retrieve("c", [pid(0), pid(1), pid(2)], with_vectors=True)}
    for i in (0, 1):
        assert got[pid(i)].payload == {**POINTS[i].payload, "favourite": True, "camera": "Leica M6"}
        assert got[pid(i)].vector == pytest.approx(POINTS[i].vector, abs=1e-6)
    assert got[pid(2)].payload == POINTS[2].payload
    assert scratch.count("c") == 3  # the unknown id was ignored, not created
    assert scratch.count("c", SearchFilters(camera="Leica M6")) == 2  # the filter index follows


def test_set_payload_moves_a_point_in_the_order(scratch: VectorStore):
    scratch.upsert("c", [Point(pid(i), vec(i), {"sort_ts": float(i)}) for i in range(3)])
    scratch.set_payload("c", [pid(0)], {"sort_ts": 10.0})
    page, _ = scratch.scroll_ordered("c", limit=3)
    assert [p.id for p in page] == [pid(0), pid(2), pid(1)]


@pytest.mark.parametrize(
    "ids, payload, where",
    [([pid(0)], ["x"], "payload"), ([pid(0)], {"x": object()}, "payload"), (["nope"], {"x": 1}, "id")],
    ids=["list", "not-json", "bad-id"],
)
def test_set_payload_refuses_bad_input(scratch: VectorStore, ids: list, payload, where: str):
    scratch.upsert("c", POINTS[:1])
    with pytest.raises(SightlineError) as exc:
        scratch.set_payload("c", ids, payload)
    assert exc.value.status == 422 and exc.value.where == where
    assert scratch.retrieve("c", [pid(0)])[0].payload == POINTS[0].payload


# --------------------------------------------------------------------------------------------------
# Random samples


def test_sample_size_and_filters(shared: VectorStore):
    points = shared.sample("photos", 5)
    assert len(points) == 5 and len({p.id for p in points}) == 5
    by_id = {p.id: p for p in POINTS}
    assert all(p.vector is None and p.payload == by_id[p.id].payload for p in points)
    assert len(shared.sample("photos", N + 10)) == N
    nikon = shared.sample("photos", 20, SearchFilters(camera="Nikon Z6"))
    assert len(nikon) == 8 and all(p.payload["camera"] == "Nikon Z6" for p in nikon)


def test_sample_is_random(shared: VectorStore):
    """30 samples of 3 out of 24: a fixed choice would show 3 ids; a fair one shows nearly all 24
    (fewer than 12 has a probability below 1e-9)."""
    seen = {p.id for _ in range(30) for p in shared.sample("photos", 3)}
    assert len(seen) >= 12


def test_dates_to_the_millisecond_page_without_losing_a_point(store: VectorStore):
    """Payload dates are kept to the millisecond (`payload.sort_seconds`): such values page exactly, page
    edges included (full-precision floats lost the point at the edge of 1 page in 9). 160 such dates paged
    3 at a time: each of the 53 pages ends on one (its edge point read back by an equality range), and a
    lost edge point ends the listing early."""
    store.create_collection("ms", CollectionParams(vector_size=2))
    rng = random.Random(7)
    points = []
    for trial in range(40):
        base = 1_764_165_600 + trial * 10_000
        values = [round(base + rng.random() * 1000, 3) for _ in range(4)]
        points += [Point(str(uuid.UUID(int=trial * 10 + i)), [1.0, 0.0], {"sort_ts": v})
                   for i, v in enumerate(values)]
    store.upsert("ms", points)  # one write: a flush per trial made this test take seconds on a busy disk
    ids, sizes = browse_all(store, "ms", limit=3)
    assert ids == ordered_ids(points)
    assert sizes == [3] * 53 + [1]
