"""The perceptual-hash check of near-duplicates, over the real embedded store and real files: look-alike scenes
the vectors call near are not grouped, copies and bursts are, older points get their hash once, exact copies
inside a near group are marked."""

from __future__ import annotations

import pytest

from sightline.ingest.review.duplicates import build_groups, exact_id_groups, scan_near
from sightline.ingest.review.tasks import Progress, Task
from sightline.ingest.vectors import open_store
from tests.ingest.review.photo_sets import files, phash_of, photo_set


@pytest.fixture()
def store(tmp_path):
    with open_store(tmp_path / "store") as opened:
        yield opened


@pytest.fixture()
def library(tmp_path):
    (folder := tmp_path / "library").mkdir()
    return folder


def scan(store, roots, kind="near", dismissed=frozenset()):
    task = Task("t", "near", "photos")
    pairs = {pair: score for pair, score in scan_near(store, "photos", 0.85, Progress(task), roots).items()
             if score >= 0.9}
    ids = [i for pair in pairs for i in pair]
    payloads = {point.id: point.payload for point in store.retrieve("photos", ids)}
    return build_groups(kind, exact_id_groups(store, "photos", 50), pairs, dismissed, payloads), task


def named(groups, ids):
    label = {point_id: name for name, point_id in ids.items()}
    return [[label[i] for i in group.point_ids] for group in groups]


def test_copies_and_bursts_are_grouped_and_the_look_alike_is_not(store, library):
    ids = photo_set(store, library, hashed=True)
    groups, _ = scan(store, [library])
    assert named(groups, ids) == [["scene", "scene-same", "scene-burst", "scene-small"]]  # not look-alike
    group = groups[0]
    assert group.checked
    assert group.exact_of == {ids["scene-same"]: ids["scene"]}
    assert group.hash_bits == {ids["scene-same"]: 0, ids["scene-burst"]: 7, ids["scene-small"]: 1}


def test_the_vectors_alone_would_have_grouped_the_look_alike(store, library):
    ids = photo_set(store, library, hashed=True)
    pairs = scan_near(store, "photos", 0.9, Progress(Task("t", "near", "photos")))
    assert (min(ids["scene"], ids["look-alike"]), max(ids["scene"], ids["look-alike"])) in pairs


def test_older_points_get_their_hash_from_the_file_once(store, library):
    ids = photo_set(store, library, hashed=False)
    groups, task = scan(store, [library])
    assert named(groups, ids) == [["scene", "scene-same", "scene-burst", "scene-small"]]
    stored = {point.id: point.payload.get("phash") for point in store.retrieve("photos", list(ids.values()))}
    assert stored == {ids[label]: phash_of(data) for label, data in files().items()}
    assert (task.stage, task.done, task.total) == ("hashing older photos", 5, 5)
    _, again = scan(store, [library])
    assert (again.stage, again.total) == ("hashing older photos", 0)  # computed once


def test_unreadable_originals_are_decided_by_the_vectors_and_say_so(store, library):
    ids = photo_set(store, library, hashed=False)
    groups, _ = scan(store, [library / "elsewhere"])  # every original is outside the roots: none can be read
    assert named(groups, ids) == [["scene", "scene-same", "scene-burst", "look-alike", "scene-small"]]
    assert not groups[0].checked and set(groups[0].hash_bits.values()) == {None}
    assert all(point.payload.get("phash") is None for point in store.retrieve("photos", list(ids.values())))


def test_exact_copies_alone_stay_an_exact_group_and_near_leaves_them_out(store, library):
    ids = photo_set(store, library, hashed=True)
    dismissed = {tuple(sorted((ids[one], ids[other]))) for one in ("scene", "scene-same")
                 for other in ("scene-small", "scene-burst")}
    near, _ = scan(store, [library], dismissed=dismissed)
    assert named(near, ids) == [["scene-burst", "scene-small"]]  # not duplicates: remembered
    everything, _ = scan(store, [library], kind="all", dismissed=dismissed)
    assert [(group.kind, names) for group, names in zip(everything, named(everything, ids))] == [
        ("exact", ["scene", "scene-same"]), ("near", ["scene-burst", "scene-small"])]
