"""The map of a collection: three well-separated kinds of photo come out as three labelled clusters."""

from __future__ import annotations

import numpy as np

from sightline.ingest.review.layout.map import compute_map
from sightline.ingest.review.tasks import Progress, Task
from sightline.ingest.vectors import CollectionParams, Point, open_store
from tests.ingest.review.sets import DIM, moved, pid, unit

KINDS = {"beach": "a sandy beach with waves", "forest": "a green forest with tall trees",
         "city": "a busy city street at night"}


def test_three_kinds_make_three_clusters_named_by_their_captions(tmp_path):
    rng = np.random.default_rng(3)
    store = open_store(tmp_path)
    store.create_collection("photos", CollectionParams(vector_size=DIM))
    kind_of = {}
    for kind, caption in KINDS.items():
        centre = np.asarray(unit(rng.normal(size=DIM)))
        for index in range(40):
            point_id = pid(f"{kind}{index}")
            kind_of[point_id] = kind
            store.upsert("photos", [Point(point_id, unit(moved(centre, 0.9, rng)), {"caption": f"{caption}, photo"})])
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
