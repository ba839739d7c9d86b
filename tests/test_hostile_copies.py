"""A hostile client of merges and copies (collections from a selection), in-process over the real stores: points
deleted from a merge's source while it runs, its target or source deleted under it, fifty creations racing for
ten names, a collection merged into itself, merges both ways at once, merges across models. Each answer is a
structured 4xx or a 2xx, never a 5xx; no half-made collection is left; nothing already ingested is lost."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter

import numpy as np
import pytest

from sightline.ingest.vectors import point_id_for
from sightline.ingest.review import merge as merging
from sightline.ingest.review import selection
from sightline.ingest.review.merge import Copier
from sightline.ingest.review.pending import PendingCopies
from sightline.ingest.vectors import CollectionParams, Point
from tests.helpers import wait_until
from tests.ingest.api.conftest import api, ingest_app, loaded_ml_app, services  # noqa: F401 - in-process API
from tests.ingest.api.helpers import all_points, create
from tests.ingest.review.sets import DIM

COLLECTIONS = "/api/v1/collections"
PAGE = 10
ORDER: dict[str, int] = {}  # point id → its number in `filled`


def error_of(answer, status: int) -> dict:
    assert answer.status_code == status, answer.text
    assert "Traceback" not in answer.text
    error = answer.json()["error"]
    assert error["code"] and error["message"], error
    return error


def filled(services, name: str, count: int, label: str = "photo") -> list[str]:
    """`count` points in `name` (random unit vectors, ids as ingesting their paths gives), their ids in the order
    a merge reads them (by id)."""
    rng = np.random.default_rng(len(label) + count)
    vectors = rng.normal(size=(count, DIM))
    points = [Point(point_id_for(name, f"/photos/{label}{i}.jpg"), (vectors[i] / np.linalg.norm(vectors[i])).tolist(),
                    {"path": f"/photos/{label}{i}.jpg", "filename": f"{label}{i}.jpg", "words": []})
              for i in range(count)]
    services.vectors.upsert(name, points)
    ORDER.update((point.id, i) for i, point in enumerate(points))
    return sorted(point.id for point in points)


def path_of(point_id: str) -> str:
    return f"/photos/photo{ORDER[point_id]}.jpg"


def paths(services, name: str) -> set[str]:
    return {point.payload["path"] for point in all_points(services, name)}


class Held:
    """Copies (of merges and selections) go `PAGE` points at a time; the second page waits for `release`."""

    def __init__(self, monkeypatch):
        self.copied_once, self.release = threading.Event(), threading.Event()
        real = Copier.copy
        monkeypatch.setattr(merging, "COPY_PAGE", PAGE)
        monkeypatch.setattr(selection, "COPY_PAGE", PAGE)
        monkeypatch.setattr(selection, "QUICK_WAIT_S", 0)

        def copy(copier: Copier, points: list) -> None:
            if copier.copied:
                assert self.release.wait(30)
            real(copier, points)
            self.copied_once.set()

        monkeypatch.setattr(Copier, "copy", copy)

    async def first_page(self) -> None:
        assert await asyncio.to_thread(self.copied_once.wait, 30)


async def merge_started(api, name: str = "photos", into: str = "other") -> str:
    answer = await api.post(f"{COLLECTIONS}/{name}/merge", json={"into": into})
    assert answer.status_code == 202, answer.text
    return answer.json()["task"]["task_id"]


async def task(api, task_id: str) -> dict:
    return (await api.get(f"/api/v1/review/tasks/{task_id}")).json()


async def two_collections(api, services, count: int = 40) -> tuple[list[str], set[str]]:
    """`photos` with `count` points and `other` with three of its own: (the ids of photos, other's paths)."""
    await create(api)
    await create(api, "other")
    ids = filled(services, "photos", count)
    filled(services, "other", 3, label="own")
    return ids, paths(services, "other")


async def test_points_deleted_from_the_source_during_a_merge(api, services, ingest_app, monkeypatch):
    ids, own = await two_collections(api, services)
    held = Held(monkeypatch)
    task_id = await merge_started(api)
    await held.first_page()
    doomed = ids[::3]  # some already read (the first two pages), the others not yet
    answers = await asyncio.gather(*(api.delete(f"{COLLECTIONS}/photos/points/{i}") for i in doomed))
    assert [answer.status_code for answer in answers] == [204] * len(doomed)
    held.release.set()
    await ingest_app[0].state.review.tasks.join()
    assert (await task(api, task_id))["state"] == "completed"
    left = paths(services, "photos")
    assert len(left) == len(ids) - len(doomed)
    copied_before = {path_of(i) for i in doomed if i in ids[:2 * PAGE]}  # read by id: two pages before the deletes
    assert paths(services, "other") == own | left | copied_before  # the others deleted before it came to them


async def test_a_target_deleted_during_a_merge_stops_it_and_leaves_nothing(api, services, ingest_app, monkeypatch):
    ids, _ = await two_collections(api, services)
    held = Held(monkeypatch)
    task_id = await merge_started(api)
    await held.first_page()
    deleting = asyncio.create_task(api.delete(f"{COLLECTIONS}/other"))
    tasks = ingest_app[0].state.review.tasks
    await asyncio.to_thread(wait_until, lambda: tasks.get(task_id).cancelled, what="the merge cancelled")
    held.release.set()
    assert (await deleting).status_code == 204
    stopped = await task(api, task_id)
    assert (stopped["state"], stopped["error"]["code"]) == ("failed", "CANCELLED")
    error_of(await api.get(f"{COLLECTIONS}/other"), 404)
    assert services.vectors.collection_info("photos").points_count == len(ids)  # the source untouched
    await create(api, "other")  # the name again: nothing of the merge lands in it
    await tasks.join()
    assert services.vectors.collection_info("other").points_count == 0


async def test_a_source_deleted_during_a_merge_fails_it_and_the_target_keeps_its_own(api, services, ingest_app,
                                                                                     monkeypatch):
    ids, own = await two_collections(api, services)
    held = Held(monkeypatch)
    task_id = await merge_started(api)
    await held.first_page()
    assert (await api.delete(f"{COLLECTIONS}/photos")).status_code == 204
    held.release.set()
    await ingest_app[0].state.review.tasks.join()
    failed = await task(api, task_id)
    assert (failed["state"], failed["error"]["code"]) == ("failed", "NOT_FOUND")
    assert own <= paths(services, "other")  # nothing of the target's own lost


async def test_a_source_deleted_during_a_copy_removes_the_half_made_collection(api, services, ingest_app,
                                                                              monkeypatch):
    ids, _ = await two_collections(api, services)
    held = Held(monkeypatch)
    answer = await api.post(COLLECTIONS, json={"name": "picked",
                                               "from_points": {"collection": "photos", "point_ids": ids}})
    await held.first_page()
    assert (await api.delete(f"{COLLECTIONS}/photos")).status_code == 204
    held.release.set()
    await ingest_app[0].state.review.tasks.join()
    failed = await task(api, answer.json()["task"]["task_id"])
    assert (failed["state"], failed["error"]["code"]) == ("failed", "NOT_FOUND")
    assert "'picked' was removed" in failed["error"]["message"]
    error_of(await api.get(f"{COLLECTIONS}/picked"), 404)
    assert PendingCopies(services.settings.data_dir).unfinished() == []


async def test_fifty_creations_racing_for_ten_names_make_each_once(api, services, ingest_app):
    await create(api)
    ids = filled(services, "photos", 60)
    names = [f"pick{n % 10}" for n in range(50)]
    bodies = [{"name": name, "from_points": {"collection": "photos", "point_ids": ids[n:n + 5]}}
              for n, name in enumerate(names)] + [{"name": f"pick{n}"} for n in range(0, 10, 3)]  # plain ones too
    answers = await asyncio.gather(*(api.post(COLLECTIONS, json=body) for body in bodies))
    made = {}
    for body, answer in zip(bodies, answers):
        if answer.status_code in (201, 202):
            made.setdefault(body["name"], []).append(body)
        else:
            assert error_of(answer, 409)["code"] == "CONFLICT"
    assert sorted(made) == sorted(set(names)) and all(len(winners) == 1 for winners in made.values())
    await ingest_app[0].state.review.tasks.join()
    for name, [body] in made.items():
        wanted = {p.payload["path"] for p in services.vectors.retrieve("photos", body["from_points"]["point_ids"])
                  } if "from_points" in body else set()
        assert paths(services, name) == wanted, name
    listed = (await api.get(COLLECTIONS)).json()["collections"]
    assert Counter(info["name"] for info in listed) == Counter(["photos", *made])
    assert PendingCopies(services.settings.data_dir).unfinished() == []
    assert services.vectors.collection_info("photos").points_count == 60


@pytest.mark.parametrize("name, into", [("photos", "photos"), ("%70hotos", "photos")])
async def test_a_collection_merged_into_itself_is_refused(api, services, ingest_app, name, into):
    ids, _ = await two_collections(api, services, count=5)
    assert error_of(await api.post(f"{COLLECTIONS}/{name}/merge", json={"into": into}), 422)["where"] == "into"
    assert ingest_app[0].state.review.tasks.running("merge", "photos") is None
    assert services.vectors.collection_info("photos").points_count == len(ids)


async def test_merges_both_ways_at_once_end_with_both_holding_everything(api, services, ingest_app):
    ids, own = await two_collections(api, services, count=25)
    both = await asyncio.gather(merge_started(api, "photos", "other"), merge_started(api, "other", "photos"))
    await ingest_app[0].state.review.tasks.join()
    assert [(await task(api, task_id))["state"] for task_id in both] == ["completed", "completed"]
    everything = own | {f"/photos/photo{i}.jpg" for i in range(len(ids))}
    assert paths(services, "photos") == paths(services, "other") == everything
    assert services.vectors.collection_info("photos").points_count == len(everything)


@pytest.mark.parametrize("params", [CollectionParams(vector_size=32),  # another dimension
                                    CollectionParams(vector_size=DIM, metadata={"embedding_model": "other-model"})])
async def test_a_merge_across_models_is_refused_and_changes_nothing(api, services, ingest_app, params):
    await create(api)
    ids = filled(services, "photos", 5)
    services.vectors.create_collection("foreign", params)
    for name, into in (("photos", "foreign"), ("foreign", "photos")):
        error = error_of(await api.post(f"{COLLECTIONS}/{name}/merge", json={"into": into}), 409)
        assert (error["code"], error["where"]) == ("MODEL_MISMATCH", "into")
    assert services.vectors.collection_info("photos").points_count == len(ids)
    assert services.vectors.collection_info("foreign").points_count == 0
    assert ingest_app[0].state.review.tasks.writing_into("foreign") == []
