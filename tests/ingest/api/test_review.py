"""The review routes in-process over the real store: near-duplicate groups found in the background and the
decisions on them, the map, collections from a selection, random points (merging: test_merge.py)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from sightline.ingest.review.layout import map as layout_map
from sightline.ingest.vectors import Point
from tests.ingest.api.helpers import all_points, create
from tests.ingest.review.sets import known_set, pid

DUPLICATES = "/api/v1/collections/photos/duplicates"


@pytest.fixture()
def review(ingest_app):
    return ingest_app[0].state


async def known(api, services) -> dict[str, str]:
    await create(api)
    return known_set(services.vectors, create=False)


def names(body: dict, ids: dict[str, str]) -> list[list[str]]:
    label = {point_id: name for name, point_id in ids.items()}
    return [[label[i] for i in group["point_ids"]] for group in body["groups"]]


async def scanned(api, review, **params) -> dict:
    """The near groups, once the background scan the first request starts has finished."""
    first = await api.get(DUPLICATES, params={"kind": "near", **params})
    if first.status_code == 202:
        assert first.json()["state"] == "scanning" and first.json()["task"]["kind"] == "near"
        await review.review.tasks.join()
        task = (await api.get(f"/api/v1/review/tasks/{first.json()['task']['task_id']}")).json()
        assert (task["state"], task["percent"]) == ("completed", 100), task
    answer = await api.get(DUPLICATES, params={"kind": "near", **params})
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_near_groups_come_from_a_background_scan_and_the_threshold_moves_without_one(api, services, review):
    ids = await known(api, services)
    by_default = await scanned(api, review)
    assert names(by_default, ids) == [["b0", "b1", "b2"], ["a-original", "a-png", "a-resized"]]
    assert by_default["groups"][1]["points"][0]["width"] == 400
    lower = await api.get(DUPLICATES, params={"kind": "near", "threshold": 0.86})
    assert lower.status_code == 200  # the scan kept pairs down to 0.85: no new scan
    assert names(lower.json(), ids)[-1] == ["d0", "d1"]
    everything = (await api.get(DUPLICATES, params={"kind": "all"})).json()
    assert [g["kind"] for g in everything["groups"]] == ["near", "near", "exact"]


async def test_exact_groups_keep_todays_fields(api, services):
    ids = await known(api, services)
    groups = (await api.get(DUPLICATES)).json()["groups"]
    assert [(g["kind"], g["sha256"], g["count"]) for g in groups] == [("exact", "same", 2)]
    assert [p["id"] for p in groups[0]["points"]] == [ids["c1"], ids["c0"]]
    assert groups[0]["points"][0]["path"] == "/photos/c1.jpeg"
    assert groups[0]["points"][0]["thumbnail_url"].endswith("/thumbnail")


async def test_not_duplicates_is_remembered(api, services, review):
    ids = await known(api, services)
    await scanned(api, review)
    b = [ids["b0"], ids["b1"], ids["b2"]]
    answer = await api.post(f"{DUPLICATES}/dismiss", json={"point_ids": b})
    assert answer.json() == {"dismissed_pairs": 3}
    assert names(await scanned(api, review), ids) == [["a-original", "a-png", "a-resized"]]
    assert names((await api.get(DUPLICATES, params={"kind": "near", "threshold": 0.86})).json(), ids) == [
        ["a-original", "a-png", "a-resized"], ["d0", "d1"]]


async def test_keep_one_removes_the_others_from_the_index_without_a_new_scan(api, services, review):
    ids = await known(api, services)
    await scanned(api, review)
    answer = await api.post(f"{DUPLICATES}/keep", json={"keep": ids["a-original"],
                                                         "remove": [ids["a-png"], ids["a-resized"]]})
    assert answer.json() == {"kept": ids["a-original"], "deleted": [ids["a-png"], ids["a-resized"]], "missing": []}
    left = {point.id for point in all_points(services, "photos")}
    assert ids["a-original"] in left and not {ids["a-png"], ids["a-resized"]} & left
    after = await api.get(DUPLICATES, params={"kind": "near"})
    assert after.status_code == 200 and names(after.json(), ids) == [["b0", "b1", "b2"]]


@pytest.mark.parametrize("body, where", [({"keep": "x", "remove": ["y"]}, "keep"),
                                         ({"keep": pid("a"), "remove": [pid("a")]}, "remove")])
async def test_bad_keep_requests_are_422(api, services, body, where):
    await known(api, services)
    answer = await api.post(f"{DUPLICATES}/keep", json=body)
    assert (answer.status_code, answer.json()["error"]["where"]) == (422, where)


async def test_a_collection_from_a_selection_holds_exactly_those_points(api, services, review):
    ids = await known(api, services)
    chosen = [ids["a-original"], ids["b1"], ids["distinct3"]]
    answer = await api.post("/api/v1/collections", json={"name": "picked", "from_points": {
        "collection": "photos", "point_ids": chosen + [chosen[0]]}})
    assert answer.status_code == 202, answer.text
    await review.review.tasks.join()
    task = (await api.get(f"/api/v1/review/tasks/{answer.json()['task']['task_id']}")).json()
    assert (task["state"], task["result"]["points_count"]) == ("completed", 3)
    info = (await api.get("/api/v1/collections/picked")).json()
    assert info["params"]["metadata"]["embedding_model"] == "tiny-random-clip"
    source = {p.payload["path"]: p.vector for p in services.vectors.retrieve("photos", chosen, with_vectors=True)}
    copied = all_points(services, "picked")
    assert sorted(p.payload["path"] for p in copied) == sorted(source)
    for point in services.vectors.retrieve("picked", [p.id for p in copied], with_vectors=True):
        assert point.vector == pytest.approx(source[point.payload["path"]], abs=1e-6)
    missing = await api.post("/api/v1/collections", json={"name": "bad", "from_points": {
        "collection": "photos", "point_ids": [pid("nothing")]}})
    assert (missing.status_code, missing.json()["error"]["where"]) == (422, "from_points.point_ids")
    assert (await api.get("/api/v1/collections/bad")).status_code == 404


async def test_random_points_are_points_of_the_collection(api, services):
    ids = await known(api, services)
    seen = set()
    for _ in range(5):
        answer = await api.get("/api/v1/collections/photos/random", params={"limit": 3})
        points = answer.json()["points"]
        assert len(points) == 3 and {p["id"] for p in points} <= set(ids.values())
        seen.update(p["id"] for p in points)
    assert len(seen) > 3
    assert (await api.get("/api/v1/collections/nope/random")).status_code == 404


async def test_the_map_is_computed_once_and_again_when_the_collection_changes(api, services, review):
    ids = await known(api, services)
    first = await api.get("/api/v1/collections/photos/map")
    assert (first.status_code, first.json()["state"]) == (202, "computing")
    await review.review.tasks.join()
    ready = await api.get("/api/v1/collections/photos/map")
    assert ready.status_code == 200 and ready.json()["state"] == "ready"
    assert {p["id"] for p in ready.json()["points"]} == set(ids.values())
    assert (await api.get("/api/v1/collections/photos/map")).status_code == 200  # cached
    services.vectors.upsert("photos", [Point(pid("new"), [0.0] * 63 + [1.0], {"path": "/photos/new.jpg"})])
    assert (await api.get("/api/v1/collections/photos/map")).status_code == 202
    await review.review.tasks.join()


async def test_searches_answer_while_a_map_is_computed(api, services, review, monkeypatch):
    await known(api, services)
    started, release = threading.Event(), threading.Event()

    def slow_map(vectors, name, progress):
        started.set()
        assert release.wait(30)
        return {"points": [], "clusters": [], "method": "none", "seconds": 0}

    monkeypatch.setattr(layout_map, "compute_map", slow_map)  # imported when a map is asked for
    assert (await api.get("/api/v1/collections/photos/map")).status_code == 202
    assert await asyncio.to_thread(started.wait, 30)
    search = await api.post("/api/v1/search", json={"collection": "photos", "text": "a beach"})
    assert search.status_code == 200 and search.json()["results"]  # answered while the map is held
    task = (await api.get("/api/v1/collections/photos/map")).json()["task"]
    assert task["state"] == "running"
    release.set()
    await review.review.tasks.join()
    assert (await api.get("/api/v1/collections/photos/map")).json()["state"] == "ready"
