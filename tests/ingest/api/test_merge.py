"""Merging collections in-process over the real store: a background task (202, followed to its result) that
copies every point exactly once, changes nothing when asked again, takes uploaded files along, and never
holds searches up."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from sightline.ingest.review import queries
from sightline.ingest.vectors import CollectionParams, Point
from tests.ingest.api.helpers import all_points, create, finished
from tests.ingest.review.sets import known_set, pid
from tests.samples import distinct_image


async def merged(api, app, name: str = "photos", into: str = "other") -> dict:
    """Merge `name` into `into`: the 202 answer's task, followed to its end."""
    answer = await api.post(f"/api/v1/collections/{name}/merge", json={"into": into})
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert (body["state"], body["task"]["kind"], body["task"]["target"]) == ("merging", "merge", into)
    await app.state.review.tasks.join()
    task = (await api.get(f"/api/v1/review/tasks/{body['task']['task_id']}")).json()
    assert (task["state"], task["percent"]) == ("completed", 100), task
    return task


async def test_merge_copies_every_point_exactly_once_and_again_changes_nothing(api, services, ingest_app):
    await create(api)
    ids = known_set(services.vectors, create=False)
    await create(api, "other")
    services.vectors.upsert("other", [Point(pid("own"), [1.0] + [0.0] * 63, {"path": "/elsewhere/own.jpg"})])
    for added in (len(ids), 0):  # merging again changes nothing: the same files are the same points
        task = await merged(api, ingest_app[0])
        assert task["result"] == {"merged": len(ids), "added": added, "from": "photos", "into": "other",
                                  "points_count": len(ids) + 1, "sources": []}
        assert (task["done"], task["total"]) == (len(ids), len(ids))
    copied = all_points(services, "other")
    assert sorted(p.payload["path"] for p in copied) == sorted(
        ["/elsewhere/own.jpg", *(p.payload["path"] for p in all_points(services, "photos"))])
    assert {p.payload.get("collection") for p in copied if p.id != pid("own")} == {"other"}


async def test_a_merge_that_cannot_be_is_refused_before_any_task(api, services, ingest_app):
    await create(api)
    services.vectors.create_collection("wide", CollectionParams(vector_size=32))
    answer = await api.post("/api/v1/collections/photos/merge", json={"into": "wide"})
    assert (answer.status_code, answer.json()["error"]["code"]) == (409, "MODEL_MISMATCH")
    itself = await api.post("/api/v1/collections/photos/merge", json={"into": "photos"})
    assert (itself.status_code, itself.json()["error"]["where"]) == (422, "into")
    nowhere = await api.post("/api/v1/collections/photos/merge", json={"into": "nope"})
    assert nowhere.status_code == 404
    assert ingest_app[0].state.review.tasks.running("merge", "photos") is None


async def test_uploaded_files_follow_a_merge_once(api, services, ingest_app):
    await create(api)
    await create(api, "other")
    sent = await api.post("/api/v1/ingest/upload", data={"collection": "photos"},
                          files=[("files", ("a.jpg", distinct_image(1), "image/jpeg"))])
    await finished(api, sent.json()["job_id"])
    for _ in range(2):
        assert (await merged(api, ingest_app[0]))["result"]["points_count"] == 1
    assert (await api.delete("/api/v1/collections/photos")).status_code == 204
    [point] = all_points(services, "other")
    assert Path(point.payload["path"]).is_file()
    assert (await api.get(f"/api/v1/collections/other/points/{point.id}/thumbnail")).status_code == 200
    assert (await api.delete("/api/v1/collections/other")).status_code == 204
    assert not Path(point.payload["path"]).exists()  # the copy goes with the collection it was copied into


async def test_searches_answer_while_a_merge_runs_and_a_second_target_waits(api, services, ingest_app,
                                                                            monkeypatch):
    await create(api)
    known_set(services.vectors, create=False)
    await create(api, "other")
    await create(api, "third")
    started, release = threading.Event(), threading.Event()

    def held_merge(vectors, settings, source, into, progress):
        started.set()
        assert release.wait(30)
        return {"merged": 0, "added": 0, "from": source, "into": into, "points_count": 0}

    monkeypatch.setattr(queries, "merge", held_merge)
    first = await api.post("/api/v1/collections/photos/merge", json={"into": "other"})
    assert first.status_code == 202
    assert await asyncio.to_thread(started.wait, 30)
    search = await api.post("/api/v1/search", json={"collection": "photos", "text": "a beach"})
    assert search.status_code == 200 and search.json()["results"]  # answered while the merge is held
    again = await api.post("/api/v1/collections/photos/merge", json={"into": "other"})
    assert again.json()["task"]["task_id"] == first.json()["task"]["task_id"]  # the same merge: its task
    elsewhere = await api.post("/api/v1/collections/photos/merge", json={"into": "third"})
    assert (elsewhere.status_code, elsewhere.json()["error"]["code"]) == (409, "CONFLICT")
    release.set()
    await ingest_app[0].state.review.tasks.join()
    task = (await api.get(f"/api/v1/review/tasks/{first.json()['task']['task_id']}")).json()
    assert task["state"] == "completed" and task["result"]["into"] == "other"


async def test_a_selection_is_checked_and_copied_a_page_at_a_time(api, services, ingest_app, monkeypatch):
    from sightline.ingest.review import selection

    monkeypatch.setattr(selection, "COPY_PAGE", 2)
    await create(api)
    ids = known_set(services.vectors, create=False)
    chosen = sorted(ids.values())[:5]
    late_miss = await api.post("/api/v1/collections", json={"name": "bad", "from_points": {
        "collection": "photos", "point_ids": chosen + [pid("nothing")]}})  # the missing id is on the last page
    assert (late_miss.status_code, late_miss.json()["error"]["where"]) == (422, "from_points.point_ids")
    assert (await api.get("/api/v1/collections/bad")).status_code == 404
    made = await api.post("/api/v1/collections", json={"name": "picked", "from_points": {
        "collection": "photos", "point_ids": chosen}})
    assert made.status_code == 202, made.text
    await ingest_app[0].state.review.tasks.join()
    task = (await api.get(f"/api/v1/review/tasks/{made.json()['task']['task_id']}")).json()
    assert (task["state"], task["done"], task["total"], task["result"]["points_count"]) == ("completed", 5, 5, 5)
    source = {p.payload["path"] for p in services.vectors.retrieve("photos", chosen)}
    assert sorted(p.payload["path"] for p in all_points(services, "picked")) == sorted(source)
