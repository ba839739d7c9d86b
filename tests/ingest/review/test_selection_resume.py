"""A collection from a selection survives a stop mid-copy, in-process over the real store and job store: the app
shut down while the copy runs (its lifespan ended, as SIGINT/SIGTERM end it) keeps the copy recorded, and the next
start finishes it under the same task id; a source gone by then removes the collection and says so; a record
written before merges were recorded too still resumes. (A real process killed mid-copy:
`tests/e2e/test_copy_restart.py`; merges: `test_merge_resume.py`.)"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from contextlib import closing

import pytest

from sightline.errors import ErrorCode, SightlineError
from sightline.ingest.review import selection
from sightline.ingest.review.pending import PendingCopies, UnfinishedCopy
from sightline.ingest.review.tasks import RESUMED
from sightline.ingest.vectors import open_store
from tests.ingest.api.conftest import loaded_ml_app  # noqa: F401 - the in-process ML app
from tests.ingest.api.helpers import all_points, create, running, settings_for
from tests.ingest.review.sets import known_set
from tests.ingest.review.stops import held_until_stopped, points_in, two_a_page

COLLECTIONS = "/api/v1/collections"


OLD_SCHEMA = """CREATE TABLE IF NOT EXISTS unfinished_copy (target TEXT PRIMARY KEY, source TEXT NOT NULL,
    ids TEXT NOT NULL, task_id TEXT NOT NULL);"""  # copies.db as the service wrote it before merges were recorded


@pytest.fixture()
def paged(monkeypatch) -> None:
    two_a_page(monkeypatch)


async def copy_stopped_midway(settings, ml_app, monkeypatch) -> tuple[str, list[str], set[str]]:
    """A copy of five points into `picked`, the app shut down after its first page: (task id, ids, their paths)."""
    async with running(settings, ml_app) as (app, api):
        await create(api)
        ids = sorted(known_set(app.state.services.vectors, create=False).values())[:5]
        paths = {p.payload["path"] for p in app.state.services.vectors.retrieve("photos", ids)}
        first_page = held_until_stopped(monkeypatch, app)
        answer = await api.post(COLLECTIONS, json={"name": "picked",
                                                   "from_points": {"collection": "photos", "point_ids": ids}})
        assert answer.status_code == 202, answer.text
        assert await asyncio.to_thread(first_page.wait, 30)
    monkeypatch.undo()
    return answer.json()["task"]["task_id"], ids, paths


async def test_a_copy_stopped_by_a_shutdown_goes_on_at_the_next_start(loaded_ml_app, tmp_path, library, paged,
                                                                       monkeypatch, caplog):
    settings = settings_for(tmp_path, library)
    task_id, ids, paths = await copy_stopped_midway(settings, loaded_ml_app, monkeypatch)
    assert points_in(settings.data_dir, "picked") == 2  # partly filled when the service stopped
    assert [copy.task_id for copy in PendingCopies(settings.data_dir).unfinished()] == [task_id]
    caplog.set_level(logging.WARNING, logger=selection.__name__)
    async with running(settings, loaded_ml_app) as (app, api):
        await app.state.review.tasks.join()
        task = (await api.get(f"/api/v1/review/tasks/{task_id}")).json()  # the id its client followed
        assert (task["state"], task["stage"], task["done"], task["total"]) == ("completed", f"copying {RESUMED}", 5, 5)
        assert task["result"] == {"collection": "picked", "copied": 5, "from": "photos", "points_count": 5}
        assert {p.payload["path"] for p in all_points(app.state.services, "picked")} == paths
    assert PendingCopies(settings.data_dir).unfinished() == []
    assert any("the copy goes on" in record.getMessage() for record in caplog.records)


async def test_a_copy_whose_source_went_while_stopped_removes_its_collection(loaded_ml_app, tmp_path, library,
                                                                             paged, monkeypatch, caplog):
    settings = settings_for(tmp_path, library)
    task_id, _, _ = await copy_stopped_midway(settings, loaded_ml_app, monkeypatch)
    store = open_store(settings.data_dir, None, None)
    store.delete_collection("photos")
    store.close()
    caplog.set_level(logging.WARNING, logger=selection.__name__)
    async with running(settings, loaded_ml_app) as (app, api):
        await app.state.review.tasks.join()
        task = (await api.get(f"/api/v1/review/tasks/{task_id}")).json()
        assert (task["state"], task["error"]["code"]) == ("failed", "NOT_FOUND")
        assert "'photos' is gone since" in task["error"]["message"]
        assert "'picked' was removed: nothing of it is left." in task["error"]["message"]
        assert (await api.get(f"{COLLECTIONS}/picked")).status_code == 404
    assert PendingCopies(settings.data_dir).unfinished() == []
    assert any("'picked' was removed" in record.getMessage() for record in caplog.records)


async def test_a_recorded_copy_whose_collection_is_gone_is_forgotten(loaded_ml_app, tmp_path, library):
    settings = settings_for(tmp_path, library)
    settings.data_dir.mkdir(parents=True)
    PendingCopies(settings.data_dir).claim(UnfinishedCopy("never-made", "photos", ["x"], "t1"))
    async with running(settings, loaded_ml_app) as (app, api):
        assert app.state.review.tasks.get("t1") is None
        assert (await api.get("/api/v1/review/tasks/t1")).status_code == 404
    assert PendingCopies(settings.data_dir).unfinished() == []


async def test_a_finished_copy_leaves_no_record_and_a_name_is_claimed_once(tmp_path):
    pending = PendingCopies(tmp_path)
    pending.claim(UnfinishedCopy("picked", "photos", ["a", "b"], "t1"))
    with pytest.raises(SightlineError) as refused:
        pending.claim(UnfinishedCopy("picked", "other", ["c"], "t2"))
    assert (refused.value.code, refused.value.status) == (ErrorCode.CONFLICT, 409)
    assert pending.unfinished() == [UnfinishedCopy("picked", "photos", ["a", "b"], "t1")]
    pending.forget("picked")
    assert pending.unfinished() == []


async def test_an_unreadable_record_of_copies_is_logged_and_the_service_starts(loaded_ml_app, tmp_path, library,
                                                                               caplog):
    settings = settings_for(tmp_path, library)
    settings.data_dir.mkdir(parents=True)
    (settings.data_dir / "copies.db").write_bytes(b"not a database" * 100)
    caplog.set_level(logging.ERROR, logger=selection.__name__)
    async with running(settings, loaded_ml_app) as (app, api):
        assert (await api.get(COLLECTIONS)).status_code == 200
        assert app.state.review.tasks.stopping is False  # the review tools are there all the same
    assert any("could not be resumed" in record.getMessage() for record in caplog.records)


async def test_a_copy_recorded_before_merges_were_recorded_goes_on(loaded_ml_app, tmp_path, library, paged,
                                                                   monkeypatch):
    settings = settings_for(tmp_path, library)
    task_id, ids, paths = await copy_stopped_midway(settings, loaded_ml_app, monkeypatch)
    path = settings.data_dir / "copies.db"
    path.unlink()  # written again as the service upgraded mid-copy left it: copies alone
    with closing(sqlite3.connect(path)) as db, db:
        db.executescript(OLD_SCHEMA)
        db.execute("INSERT INTO unfinished_copy VALUES (?, ?, ?, ?)", ("picked", "photos", json.dumps(ids), task_id))
    async with running(settings, loaded_ml_app) as (app, api):
        await app.state.review.tasks.join()
        task = (await api.get(f"/api/v1/review/tasks/{task_id}")).json()
        assert (task["state"], task["result"]["points_count"]) == ("completed", 5)
        assert {p.payload["path"] for p in all_points(app.state.services, "picked")} == paths
    assert PendingCopies(settings.data_dir).unfinished() == []
    assert PendingCopies(settings.data_dir).unfinished_merges() == []  # the file holds merges from now on
