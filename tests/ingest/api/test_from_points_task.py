"""A collection from a selection in-process over the real store: checked before anything is made, created at
once, filled by a background review task with progress (202), its result naming the new collection; a copy that
fails removes the half-filled collection, and deleting the collection while it fills stops the copy."""

from __future__ import annotations

import asyncio
import threading

import pytest

from sightline.errors import ErrorCode, SightlineError
from sightline.ingest.review import merge as merging
from sightline.ingest.review import selection
from sightline.ingest.review.merge import Copier
from tests.helpers import wait_until
from tests.ingest.api.helpers import all_points, create
from tests.ingest.review.sets import known_set, pid

COLLECTIONS = "/api/v1/collections"


def body(name: str, ids: list[str], source: str = "photos", **extra) -> dict:
    return {"name": name, "from_points": {"collection": source, "point_ids": ids}, **extra}


async def chosen(api, services, count: int = 5) -> list[str]:
    await create(api)
    return sorted(known_set(services.vectors, create=False).values())[:count]


async def task_of(api, answer) -> dict:
    assert answer.status_code == 202, answer.text
    return (await api.get(f"/api/v1/review/tasks/{answer.json()['task']['task_id']}")).json()


class HeldCopy:
    """Copier.copy held after its first page until released (COPY_PAGE 2: a selection of 5 is 3 pages), so a
    copy can be looked at while it runs; `fail` makes the second page raise instead."""

    def __init__(self, monkeypatch, fail: Exception | None = None):
        self.copied_once, self.release, self.fail = threading.Event(), threading.Event(), fail
        real = Copier.copy
        monkeypatch.setattr(merging, "COPY_PAGE", 2)
        monkeypatch.setattr(selection, "COPY_PAGE", 2)
        monkeypatch.setattr(selection, "QUICK_WAIT_S", 0)

        def copy(copier: Copier, points: list) -> None:
            if self.copied_once.is_set():
                assert self.release.wait(30)
                if self.fail is not None:
                    raise self.fail
            real(copier, points)
            self.copied_once.set()

        monkeypatch.setattr(Copier, "copy", copy)


async def test_a_small_selection_is_answered_already_copied(api, services):
    ids = await chosen(api, services)
    answer = await api.post(COLLECTIONS, json=body("picked", ids + [ids[0]]))
    assert answer.status_code == 202, answer.text
    assert answer.json()["collection"] == "picked"
    task = answer.json()["task"]
    assert (task["kind"], task["collection"], task["target"], task["state"]) == ("copy", "photos", "picked",
                                                                                 "completed")
    assert (task["done"], task["total"], task["percent"]) == (5, 5, 100)
    assert task["result"] == {"collection": "picked", "copied": 5, "from": "photos", "points_count": 5}
    source = {p.payload["path"] for p in services.vectors.retrieve("photos", ids)}
    assert {p.payload["path"] for p in all_points(services, "picked")} == source


async def test_a_copy_reports_its_progress_while_it_runs(api, services, ingest_app, monkeypatch):
    ids = await chosen(api, services)
    held = HeldCopy(monkeypatch)
    answer = await api.post(COLLECTIONS, json=body("picked", ids))
    assert answer.status_code == 202
    assert await asyncio.to_thread(held.copied_once.wait, 30)
    assert (await api.get(f"{COLLECTIONS}/picked")).status_code == 200  # made at once, filling
    running = await task_of(api, answer)
    assert (running["state"], running["stage"], running["done"], running["total"], running["percent"]) == (
        "running", "copying", 2, 5, 40)
    other = await api.post(COLLECTIONS, json=body("second", ids[:1]))  # another copy of the same source
    assert other.json()["task"]["task_id"] != answer.json()["task"]["task_id"]
    held.release.set()
    await ingest_app[0].state.review.tasks.join()
    done = await task_of(api, answer)
    assert (done["state"], done["done"], done["result"]["points_count"]) == ("completed", 5, 5)
    assert (await task_of(api, other))["result"]["collection"] == "second"


@pytest.mark.parametrize("failure, code", [(SightlineError(ErrorCode.DISK_FULL, "The disk is full."), "DISK_FULL"),
                                           (RuntimeError("store broke"), "STORE_FAILED")])
async def test_a_copy_that_fails_removes_the_half_filled_collection(api, services, ingest_app, monkeypatch,
                                                                    failure, code):
    ids = await chosen(api, services)
    held = HeldCopy(monkeypatch, fail=failure)
    answer = await api.post(COLLECTIONS, json=body("picked", ids))
    assert await asyncio.to_thread(held.copied_once.wait, 30)
    assert services.vectors.collection_info("picked").points_count == 2  # half-filled
    held.release.set()
    await ingest_app[0].state.review.tasks.join()
    task = await task_of(api, answer)
    assert (task["state"], task["error"]["code"], task["result"]) == ("failed", code, None)
    assert "'picked' was removed: nothing of it is left." in task["error"]["message"]
    assert (await api.get(f"{COLLECTIONS}/picked")).status_code == 404
    assert not (services.settings.uploads_dir / "copied-picked").exists()


async def test_deleting_a_collection_while_it_fills_stops_the_copy(api, services, ingest_app, monkeypatch):
    ids = await chosen(api, services)
    held = HeldCopy(monkeypatch)
    answer = await api.post(COLLECTIONS, json=body("picked", ids))
    assert await asyncio.to_thread(held.copied_once.wait, 30)
    deleting = asyncio.create_task(api.delete(f"{COLLECTIONS}/picked"))
    tasks = ingest_app[0].state.review.tasks
    await asyncio.to_thread(wait_until, lambda: tasks.get(answer.json()["task"]["task_id"]).cancelled)
    held.release.set()
    assert (await deleting).status_code == 204
    task = await task_of(api, answer)
    assert (task["state"], task["error"]["code"], task["done"]) == ("failed", "CANCELLED", 4)
    assert (await api.get(f"{COLLECTIONS}/picked")).status_code == 404
    again = await api.post(COLLECTIONS, json=body("picked", ids[:1]))  # the name is free again
    await tasks.join()
    assert (await task_of(api, again))["result"]["points_count"] == 1


@pytest.mark.parametrize("request_body, status, where", [
    (body("photos", [pid("a-original")]), 409, "name"),  # taken
    (body("picked", [pid("nothing")]), 422, "from_points.point_ids"),  # not in the source
    (body("picked", ["not-a-uuid"]), 422, "from_points.point_ids"),
    (body("picked", [pid("a-original")], vector_size=32), 422, "vector_size"),  # another model's size
    (body("picked", [pid("a-original")], source="nowhere"), 404, None),
    (body("picked", [pid(str(i)) for i in range(selection.MAX_SELECTION + 1)]), 422, None),  # over the cap
])
async def test_a_bad_selection_is_refused_before_anything_is_made(api, services, ingest_app, request_body, status,
                                                                  where):
    await chosen(api, services)
    answer = await api.post(COLLECTIONS, json=request_body)
    assert answer.status_code == status, answer.text
    if where is not None:
        assert answer.json()["error"]["where"] == where
    assert (await api.get(f"{COLLECTIONS}/picked")).status_code == 404
    assert ingest_app[0].state.review.tasks.running("copy", "picked") is None
