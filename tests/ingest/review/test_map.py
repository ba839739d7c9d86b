"""The map of a collection: three well-separated kinds of photo come out as three labelled clusters, at 120
photos and at 30."""

from __future__ import annotations

import numpy as np
import pytest

from sightline.ingest.review.layout.map import compute_map
from sightline.ingest.review.layout.project import cluster_params
from sightline.ingest.review.tasks import Progress, Task
from sightline.ingest.vectors import CollectionParams, Point, open_store
from tests.ingest.review.sets import DIM, moved, pid, unit

KINDS = {"beach": "a sandy beach with waves", "forest": "a green forest with tall trees",
         "city": "a busy city street at night"}


def test_three_kinds_make_three_clusters_named_by_their_captions(tmp_path):
    rng = np.random.default_rng(3)
    store = open_store(tmp_path)
    store.create_collection("photos", CollectionParams(vector_size=DIM))
    kind_of, points = {}, []
    for kind, caption in KINDS.items():
        centre = np.asarray(unit(rng.normal(size=DIM)))
        for index in range(40):
            point_id = pid(f"{kind}{index}")
            kind_of[point_id] = kind
            points.append(Point(point_id, unit(moved(centre, 0.9, rng)), {"caption": f"{caption}, photo"}))
    store.upsert("photos", points)  # one write (a flush each made the test spend seconds on the disk)
    task = Task("t", "map", "photos")
    body = compute_map(store, "photos", Progress(task))
    store.close()

    assert len(body["points"]) == 120 and task.stage == "laying out"
    assert all(0 <= p["x"] <= 1 and 0 <= p["y"] <= 1 for p in body["points"])
    members: dict[int, set[str]] = {}
    for point in body["points"]:
        members.setdefault(point["cluster"], set()).add(kind_of[point["id"]])
    assert sorted(len(kinds) for cluster, kinds in members.items() if cluster >= 0) == [1, 1, 1]
    labels = {cluster["label"] for cluster in body["clusters"]}
    assert labels == {"beach · sandy · waves", "forest · green · tall", "busy · city · night"}
    assert sum(cluster["size"] for cluster in body["clusters"]) >= 110  # few or no points left unclustered


@pytest.mark.parametrize(("kinds", "photos", "similarity"), [(3, 10, 0.4), (5, 4, 0.6)])
def test_a_small_collection_of_distinct_kinds_makes_exactly_those_clusters(tmp_path, kinds, photos, similarity):
    """30 photos of 3 kinds, 20 of 5 kinds (384-d, like the models' vectors): one cluster per kind, nobody
    left out (the sizes meant for large maps made none at all)."""
    rng = np.random.default_rng(0)
    store = open_store(tmp_path)
    store.create_collection("small", CollectionParams(vector_size=384))
    kind_of, points = {}, []
    for kind in range(kinds):
        centre = np.asarray(unit(rng.normal(size=384)))
        for index in range(photos):
            kind_of[pid(f"{kind}-{index}")] = kind
            points.append(Point(pid(f"{kind}-{index}"), unit(moved(centre, similarity, rng)), {}))
    store.upsert("small", points)
    body = compute_map(store, "small", Progress(Task("t", "map", "small")))
    store.close()

    members: dict[int, list[int]] = {}
    for point in body["points"]:
        members.setdefault(point["cluster"], []).append(kind_of[point["id"]])
    assert sorted(sorted(found) for found in members.values()) == [[kind] * photos for kind in range(kinds)]
    assert [cluster["size"] for cluster in body["clusters"]] == [photos] * kinds


@pytest.mark.parametrize(("points", "expected"), [(30, (3, 2)), (100, (10, 6)), (225, (15, 15)),
                                                  (50_000, (223, 223))])
def test_cluster_sizes_follow_the_collection_and_large_maps_keep_theirs(points, expected):
    assert cluster_params(points) == expected
