"""Transitive grouping and the best-first order, on their own."""

from __future__ import annotations

from sightline.ingest.review.groups import best_first, connected_groups, group_pairs, linked_groups, star_groups


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


def test_of_identical_files_the_one_not_named_a_copy_then_the_older_comes_first():
    same = {"width": 4000, "height": 3000, "format": "jpeg", "sort_ts": 100, "bytes": 3_000_000}
    payloads = {
        "copy": {**same, "path": "/a/misc/IMG_4400 copy.jpg", "mtime_ns": 1},
        "numbered": {**same, "path": "/a/IMG_4400 (2).jpg", "mtime_ns": 1},
        "finder": {**same, "path": "/a/IMG_4400 2.jpg", "mtime_ns": 1},
        "newer": {**same, "path": "/a/b/IMG_4400.jpg", "mtime_ns": 9},
        "original": {**same, "path": "/z/pets/IMG_4400.jpg", "mtime_ns": 5},
        "camera_number": {**same, "path": "/z/IMG_4401.jpg", "mtime_ns": 7},
    }
    assert best_first(payloads, payloads) == ["original", "camera_number", "newer", "numbered", "finder", "copy"]


def test_group_pairs_are_every_pair_once():
    assert group_pairs(["c", "a", "b", "a"]) == [("a", "b"), ("a", "c"), ("b", "c")]


def test_star_groups_do_not_chain_and_the_most_linked_is_the_centre():
    chain = [("a", "b"), ("b", "c"), ("c", "d"), ("d", "e")]  # look-alikes: each near the next only
    assert connected_groups(chain) == [["a", "b", "c", "d", "e"]]
    assert star_groups(chain) == [("b", ["a", "b", "c"]), ("d", ["d", "e"])]  # b before d: ties by rank
    burst = [("b0", "b1"), ("b1", "b2"), ("x", "y")]  # b1 is near both ends of the burst
    assert star_groups(burst) == [("b1", ["b0", "b1", "b2"]), ("x", ["x", "y"])]
    assert linked_groups(burst, {("b1", "b2")}, "star") == [["b0", "b1"], ["x", "y"]]


def test_star_centres_break_ties_by_rank():
    pairs = [("a", "b"), ("b", "c"), ("a", "c"), ("c", "d")]
    assert star_groups(pairs, rank={"a": 2, "b": 1, "c": 0, "d": 3}.__getitem__) == [("c", ["a", "b", "c", "d"])]
    assert star_groups(pairs[:3], rank={"a": 2, "b": 1, "c": 0}.__getitem__) == [("c", ["a", "b", "c"])]
    assert star_groups(pairs[:3], rank={"a": 0, "b": 1, "c": 2}.__getitem__) == [("a", ["a", "b", "c"])]
