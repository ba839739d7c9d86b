"""Transitive grouping and the best-first order, on their own."""

from __future__ import annotations

from sightline.ingest.review.groups import best_first, connected_groups, group_pairs


def test_pairs_group_transitively_and_dismissed_pairs_split_them():
    pairs = [("a", "b"), ("b", "c"), ("x", "y")]
    assert sorted(connected_groups(pairs)) == [["a", "b", "c"], ["x", "y"]]
    assert sorted(connected_groups(pairs, dismissed={("a", "b"), ("x", "y")})) == [["b", "c"]]


def test_best_first_is_largest_then_original_then_earliest():
    payloads = {
        "small": {"width": 10, "height": 10, "format": "jpeg", "sort_ts": 0},
        "png-copy": {"width": 50, "height": 40, "format": "png", "sort_ts": 1},
        "camera-late": {"width": 50, "height": 40, "format": "jpeg", "camera": "X", "sort_ts": 9},
        "jpeg-late": {"width": 50, "height": 40, "format": "jpeg", "sort_ts": 8},
        "jpeg-early": {"width": 50, "height": 40, "format": "jpeg", "sort_ts": 2},
    }
    assert best_first(payloads, payloads) == ["camera-late", "jpeg-early", "jpeg-late", "png-copy", "small"]


def test_group_pairs_are_every_pair_once():
    assert group_pairs(["c", "a", "b", "a"]) == [("a", "b"), ("a", "c"), ("b", "c")]
