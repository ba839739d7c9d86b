"""A collection from a selection survives its service stopped mid-copy: a real ingestion service process killed
(SIGKILL) or shut down (SIGTERM; uvicorn treats SIGINT alike) while it copies, then started again on the same
data directory, finishes the copy under the task id its client followed; the collection ends with exactly the
selection. The copy is held after its first page (a hook the child process loads, `HOLD`) until the service
stops, so the stop always lands midway."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import numpy as np
import pytest

from sightline.ingest.review.pending import PendingCopies
from sightline.ingest.vectors import CollectionParams, Point, open_store
from tests.e2e.ingest_process import IngestProcess
from tests.helpers import wait_until
from tests.ingest.review.sets import pid

pytestmark = pytest.mark.e2e

POINTS = 600
PAGE = 100  # the child's copy page while held: a selection of 500 is five pages
DIM = 64
HOLD = f'''
import os
if os.environ.get("SIGHTLINE_TEST_HOLD_COPY"):
    import threading
    import sightline.ingest.app
    from sightline.ingest.review import merge, selection, tasks

    merge.COPY_PAGE = selection.COPY_PAGE = {PAGE}
    selection.QUICK_WAIT_S = 0
    stopping, real_copy, real_shutdown = threading.Event(), merge.Copier.copy, tasks.ReviewTasks.shutdown

    def copy(copier, points):
        if copier.copied:
            stopping.wait(60)  # the second page held until the service stops
        real_copy(copier, points)

    async def shutdown(self, *args, **kwargs):
        stopping.set()
        await real_shutdown(self, *args, **kwargs)

    merge.Copier.copy, tasks.ReviewTasks.shutdown = copy, shutdown
'''


def selection() -> list[str]:
    """Every point but each sixth: not the whole source."""
    return [pid(f"p{index}") for index in range(POINTS) if index % 6]


@pytest.fixture()
def data_dir(tmp_path) -> Path:
    """A data directory whose collection `photos` holds `POINTS` points (written straight into the store)."""
    data_dir = tmp_path / "data"
    store = open_store(data_dir)
    store.create_collection("photos", CollectionParams(vector_size=DIM))
    vectors = np.random.default_rng(3).normal(size=(POINTS, DIM)).astype(np.float32)
    store.upsert("photos", [Point(pid(f"p{index}"), vectors[index].tolist(), {
        "path": f"/photos/{index}.jpg", "filename": f"{index}.jpg", "folder": "/photos", "words": [],
        "sort_ts": float(index)}) for index in range(POINTS)])
    store.close()
    return data_dir


@pytest.fixture()
def held(tmp_path, monkeypatch) -> None:
    """Service processes started now load `HOLD` (until the test undoes it)."""
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(HOLD)
    monkeypatch.setenv("PYTHONPATH", str(hook))
    monkeypatch.setenv("SIGHTLINE_TEST_HOLD_COPY", "1")


def copied_paths(data_dir: Path, name: str) -> list[str]:
    store = open_store(data_dir)
    try:
        return [point.payload["path"] for point in store.scroll(name, limit=POINTS)[0]]
    finally:
        store.close()


def stop(service: IngestProcess, how: str) -> None:
    assert service.process is not None and service.process.stderr is not None
    if how == "SIGKILL":
        service.kill()
        return
    service.process.send_signal(getattr(signal, how))
    service.process.wait(timeout=30)  # uvicorn ends by raising the signal again, after its shutdown
    assert "the copy goes on at its next start" in service.process.stderr.read().decode()  # stopped, not cut


def first_page_copied(client: httpx.Client, task_id: str) -> dict | None:
    task = client.get(f"/api/v1/review/tasks/{task_id}").json()
    assert task["state"] == "running", task
    return task if task["done"] > 0 else None


def ended(client: httpx.Client, task_id: str) -> dict | None:
    answer = client.get(f"/api/v1/review/tasks/{task_id}")
    assert answer.status_code == 200, answer.text  # the id its client followed, known again
    return answer.json() if answer.json()["state"] != "running" else None


@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM"])
def test_a_copy_stopped_midway_is_finished_after_a_restart(data_dir, held, ml_server, tmp_path, monkeypatch,
                                                           how):
    library = tmp_path / "library"
    library.mkdir()
    ids = selection()
    with IngestProcess(data_dir, library, ml_server.url) as service, service.client() as client:
        answer = client.post("/api/v1/collections", json={"name": "picked",
                                                          "from_points": {"collection": "photos", "point_ids": ids}})
        assert answer.status_code == 202, answer.text
        task_id = answer.json()["task"]["task_id"]
        assert wait_until(lambda: first_page_copied(client, task_id))["total"] == len(ids)
        stop(service, how)

    assert PAGE <= len(copied_paths(data_dir, "picked")) <= 2 * PAGE  # the service stopped midway
    assert [copy.task_id for copy in PendingCopies(data_dir).unfinished()] == [task_id]
    monkeypatch.undo()  # the next start copies at its own pace
    with IngestProcess(data_dir, library, ml_server.url, port=service.port) as service, service.client() as client:
        task = wait_until(lambda: ended(client, task_id), what="the resumed copy")
        assert (task["state"], task["total"], task["result"]["points_count"]) == ("completed", len(ids), len(ids))
    assert sorted(copied_paths(data_dir, "picked")) == sorted(f"/photos/{index}.jpg" for index in range(POINTS)
                                                              if index % 6)
    assert PendingCopies(data_dir).unfinished() == []
