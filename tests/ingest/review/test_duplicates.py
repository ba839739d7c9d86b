"""Near-duplicate scans over the real embedded store, on a set with known answers."""

from __future__ import annotations

import pytest

from sightline.ingest.review.duplicates import build_groups, exact_id_groups, scan_near
from sightline.ingest.review.tasks import Progress, Task
from sightline.ingest.vectors import open_store
from tests.ingest.review.sets import known_set


@pytest.fixture()
def known(tmp_path):
    store = open_store(tmp_path)
    ids = known_set(store)
    yield store, ids
    store.close()


def groups_at(store, ids, threshold, kind="all", dismissed=frozenset()):
    task = Task("t", "near", "photos")
    pairs = {p: s for p, s in scan_near(store, "photos", 0.85, Progress(task)).items() if s >= threshold}
    assert task.done == task.total  # the neighbour search, then the hashes of older points (none readable here)
    exact = exact_id_groups(store, "photos", 50)
    payloads = {point.id: point.payload for point in store.retrieve("photos", list(ids.values()))}
    label = {point_id: name for name, point_id in ids.items()}
    return [(g.kind, [label[i] for i in g.point_ids]) for g in build_groups(kind, exact, pairs, dismissed, payloads)]


def test_near_groups_at_095_are_the_known_ones_best_first(known):
    store, ids = known
    assert groups_at(store, ids, 0.95) == [
        ("near", ["b0", "b1", "b2"]),  # b0 and b2 (0.88) are joined through b1; closest group first
        ("near", ["a-original", "a-png", "a-resized"]),  # largest, then the camera's JPEG over the PNG
        ("exact", ["c1", "c0"]),  # same bytes: earliest first
    ]


def test_a_lower_threshold_adds_the_burst_and_near_leaves_exact_out(known):
    store, ids = known
    assert [names for _, names in groups_at(store, ids, 0.85, kind="near")] == [
        ["a-original", "a-png", "a-resized"], ["b0", "b1", "b2"], ["d0", "d1"]]  # b: its lowest link is 0.88


def test_dismissed_pairs_are_not_proposed(known):
    store, ids = known
    dismissed = {tuple(sorted((ids["b0"], ids["b1"]))), tuple(sorted((ids["b1"], ids["b2"])))}
    groups = groups_at(store, ids, 0.95, dismissed=dismissed)
    assert [names for _, names in groups] == [["a-original", "a-png", "a-resized"], ["c1", "c0"]]


def test_exact_groups_split_where_a_pair_was_dismissed(known):
    store, ids = known
    dismissed = {tuple(sorted((ids["c0"], ids["c1"])))}
    assert groups_at(store, ids, 0.95, kind="exact") == [("exact", ["c1", "c0"])]
    assert groups_at(store, ids, 0.95, kind="exact", dismissed=dismissed) == []
