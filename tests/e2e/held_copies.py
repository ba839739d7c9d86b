"""What the e2e tests of a service stopped mid-copy or mid-merge share: a data directory whose collection `photos`
holds `POINTS` points, and a hook the child process loads (`HOLD`, through `sitecustomize`) that copies `PAGE`
points a page and holds the second page until the service stops, so a stop always lands midway."""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np

from sightline.ingest.vectors import CollectionParams, Point, open_store
from tests.ingest.review.sets import pid

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


def photos_dir(tmp_path: Path) -> Path:
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


def hold_copies(tmp_path: Path, monkeypatch) -> None:
    """Service processes started now load `HOLD` (until the test undoes `monkeypatch`)."""
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(HOLD)
    monkeypatch.setenv("PYTHONPATH", str(hook))
    monkeypatch.setenv("SIGHTLINE_TEST_HOLD_COPY", "1")


def stored_paths(data_dir: Path, name: str) -> list[str]:
    """The paths of the points in `name`, read while no service holds the store (its store process, which ends
    when the service is gone, first closes it: the one opened here waits for that)."""
    store = open_store(data_dir, own_process=True)
    try:
        return [point.payload["path"] for point in store.scroll(name, limit=2 * POINTS)[0]]
    finally:
        store.close()


def first_page_copied(client: httpx.Client, task_id: str) -> dict | None:
    task = client.get(f"/api/v1/review/tasks/{task_id}").json()
    assert task["state"] == "running", task
    return task if task["done"] > 0 else None


def ended(client: httpx.Client, task_id: str) -> dict | None:
    answer = client.get(f"/api/v1/review/tasks/{task_id}")
    assert answer.status_code == 200, answer.text  # the id its client followed, known again
    return answer.json() if answer.json()["state"] != "running" else None
