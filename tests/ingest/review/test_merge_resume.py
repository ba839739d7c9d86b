"""A merge survives a stop mid-way, in-process over the real store and job store: the app shut down while the
merge runs (its lifespan ended, as SIGINT/SIGTERM end it) keeps the merge recorded, and the next start finishes
it under the same task id; a source or target gone by then drops it and says so. Merges asked at once are
recorded as the one that runs, and a merge that ends any way but by a stop leaves no record. (A real process
killed mid-merge: `tests/e2e/test_merge_restart.py`.)"""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest

from sightline.ingest.review import queries
from sightline.ingest.review.merge import Copier
from sightline.ingest.review.pending import PendingCopies, UnfinishedMerge
from sightline.ingest.review.tasks import RESUMED
from sightline.ingest.vectors import Point, open_store
from tests.helpers import wait_until
from tests.ingest.api.conftest import loaded_ml_app  # noqa: F401 - the in-process ML app
from tests.ingest.api.helpers import all_points, create, running, settings_for
from tests.ingest.review.sets import DIM, known_set, pid
from tests.ingest.review.stops import held_until_stopped, points_in, two_a_page

COLLECTIONS = "/api/v1/collections"
OWN = Point(pid("own"), [1.0] + [0.0] * (DIM - 1), {"path": "/elsewhere/own.jpg"})  # the target's own photo


@pytest.fixture()
def paged(monkeypatch) -> None:
    two_a_page(monkeypatch)


async def two_collections(app, api) -> int:
    """`photos` (the known set) and `other` with a photo of its own: the number of photos."""
    await create(api)
    await create(api, "other")
    app.state.services.vectors.upsert("other", [OWN])
    return len(known_set(app.state.services.vectors, create=False))


async def merge_stopped_midway(settings, ml_app, monkeypatch) -> tuple[str, int, set[str]]:
    """`photos` merged into `other`, the app shut down after the first page: (task id, photos, every path)."""
    async with running(settings, ml_app) as (app, api):
        count = await two_collections(app, api)
        first_page = held_until_stopped(monkeypatch, app)
        answer = await api.post(f"{COLLECTIONS}/photos/merge", json={"into": "other"})
        assert answer.status_code == 202, answer.text
        assert await asyncio.to_thread(first_page.wait, 30)
        paths = {p.payload["path"] for name in ("photos", "other") for p in all_points(app.state.services, name)}
    monkeypatch.undo()
    return answer.json()["task"]["task_id"], count, paths


def deleted(settings, name: str) -> None:
    store = open_store(settings.data_dir, None, None)
    store.delete_collection(name)
    store.close()


async def test_a_merge_stopped_by_a_shutdown_goes_on_at_the_next_start(loaded_ml_app, tmp_path, library, paged,
                                                                        monkeypatch, caplog):
    settings = settings_for(tmp_path, library)
    task_id, count, paths = await merge_stopped_midway(settings, loaded_ml_app, monkeypatch)
    assert points_in(settings.data_dir, "other") == 1 + 2  # partly merged when the service stopped
    assert PendingCopies(settings.data_dir).unfinished_merges() == [UnfinishedMerge("photos", "other", task_id)]
    caplog.set_level(logging.WARNING, logger=queries.__name__)
    async with running(settings, loaded_ml_app) as (app, api):
        await app.state.review.tasks.join()
        task = (await api.get(f"/api/v1/review/tasks/{task_id}")).json()  # the id its client followed
        assert (task["state"], task["stage"], task["done"], task["total"]) == (
            "completed", f"copying into other {RESUMED}", count, count)
        assert task["result"] == {"merged": count, "added": count - 2, "from": "photos", "into": "other",
                                  "points_count": count + 1, "sources": []}
        assert {p.payload["path"] for p in all_points(app.state.services, "other")} == paths
    assert PendingCopies(settings.data_dir).unfinished_merges() == []
    assert any("the merge goes on" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize("gone, where", [("photos", "name"), ("other", "into")])
async def test_a_merge_whose_source_or_target_went_while_stopped_is_dropped(loaded_ml_app, tmp_path, library,
                                                                            paged, monkeypatch, caplog, gone, where):
    settings = settings_for(tmp_path, library)
    task_id, count, _ = await merge_stopped_midway(settings, loaded_ml_app, monkeypatch)
    deleted(settings, gone)
    caplog.set_level(logging.WARNING, logger=queries.__name__)
    async with running(settings, loaded_ml_app) as (app, api):
        await app.state.review.tasks.join()
        task = (await api.get(f"/api/v1/review/tasks/{task_id}")).json()
        assert (task["state"], task["error"]["code"], task["error"]["where"]) == ("failed", "NOT_FOUND", where)
        dropped = f"{gone!r} is gone since: the merge is dropped."
        assert dropped in task["error"]["message"]
        kept = "other" if gone == "photos" else "photos"
        assert (await api.get(f"{COLLECTIONS}/{kept}")).json()["points_count"] == (3 if kept == "other" else count)
    assert PendingCopies(settings.data_dir).unfinished_merges() == []
    assert any(dropped in record.getMessage() for record in caplog.records)


async def test_merges_asked_at_once_are_recorded_as_the_one_that_runs(loaded_ml_app, tmp_path, library, paged,
                                                                      monkeypatch):
    release, real = threading.Event(), Copier.copy

    def copy(copier: Copier, points: list) -> None:
        assert release.wait(30)
        real(copier, points)

    monkeypatch.setattr(Copier, "copy", copy)
    settings = settings_for(tmp_path, library)
    async with running(settings, loaded_ml_app) as (app, api):
        await two_collections(app, api)
        await create(api, "third")
        answers = await asyncio.gather(*(api.post(f"{COLLECTIONS}/photos/merge", json={"into": into})
                                         for into in ["other", "third"] * 4))
        started = {(a.json()["task"]["task_id"], a.json()["task"]["target"]) for a in answers if a.status_code == 202}
        assert len(started) == 1 and sorted(a.status_code for a in answers) == [202] * 4 + [409] * 4
        [(task_id, target)] = started
        assert PendingCopies(settings.data_dir).unfinished_merges() == [UnfinishedMerge("photos", target, task_id)]
        release.set()
        await app.state.review.tasks.join()
        assert (await api.get(f"/api/v1/review/tasks/{task_id}")).json()["state"] == "completed"
    assert PendingCopies(settings.data_dir).unfinished_merges() == []


@pytest.mark.parametrize("gone", ["photos", "other"])
async def test_a_merge_ended_by_a_delete_leaves_no_record(loaded_ml_app, tmp_path, library, paged, monkeypatch,
                                                          gone):
    release, first_page, real = threading.Event(), threading.Event(), Copier.copy

    def copy(copier: Copier, points: list) -> None:
        real(copier, points)
        first_page.set()
        assert release.wait(30)

    monkeypatch.setattr(Copier, "copy", copy)
    settings = settings_for(tmp_path, library)
    async with running(settings, loaded_ml_app) as (app, api):
        await two_collections(app, api)
        task_id = (await api.post(f"{COLLECTIONS}/photos/merge", json={"into": "other"})).json()["task"]["task_id"]
        assert await asyncio.to_thread(first_page.wait, 30)
        deleting = asyncio.create_task(api.delete(f"{COLLECTIONS}/{gone}"))
        merging = app.state.review.tasks.get(task_id)  # cancelled by a delete of its target, which waits for it
        await asyncio.to_thread(wait_until, lambda: merging.cancelled or deleting.done(), what="the delete")
        release.set()
        assert (await deleting).status_code == 204
        await app.state.review.tasks.join()
        assert (await api.get(f"/api/v1/review/tasks/{task_id}")).json()["state"] == "failed"
    assert PendingCopies(settings.data_dir).unfinished_merges() == []


def test_a_merge_record_replaces_its_sources_stale_one_and_goes_by_its_task(tmp_path):
    pending = PendingCopies(tmp_path)
    pending.record_merge(UnfinishedMerge("photos", "other", "t1"))
    pending.record_merge(UnfinishedMerge("photos", "third", "t2"))  # t1 never ran: no merge of photos runs now
    pending.record_merge(UnfinishedMerge("other", "photos", "t3"))
    pending.forget_merge("t1")  # gone already: nothing else goes with it
    assert pending.unfinished_merges() == [UnfinishedMerge("photos", "third", "t2"),
                                           UnfinishedMerge("other", "photos", "t3")]
    pending.forget_merge("t2")
    assert pending.unfinished_merges() == [UnfinishedMerge("other", "photos", "t3")]
    assert pending.unfinished() == []  # copies apart
