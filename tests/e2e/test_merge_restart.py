"""A merge survives its service killed mid-merge: a real ingestion service process killed (SIGKILL: no shutdown
code runs) while it merges, then started again on the same data directory, finishes the merge under the task id
its client followed; the target ends with its own photos and every photo of the source, each once. The merge
is held after its first page (`held_copies.HOLD`) until the kill, so the kill always lands midway."""

from __future__ import annotations

from pathlib import Path

import pytest

from sightline.ingest.review.pending import PendingCopies, UnfinishedMerge
from sightline.ingest.vectors import CollectionParams, Point, open_store
from tests.e2e.held_copies import DIM, PAGE, POINTS, ended, first_page_copied, hold_copies, photos_dir, stored_paths
from tests.e2e.ingest_process import IngestProcess
from tests.helpers import wait_until
from tests.ingest.review.sets import pid

pytestmark = pytest.mark.e2e

OWN = [f"/elsewhere/{index}.jpg" for index in range(3)]  # the target's own photos


@pytest.fixture()
def data_dir(tmp_path) -> Path:
    """`photos` (`POINTS` points) and `other`, which holds photos of its own."""
    data_dir = photos_dir(tmp_path)
    store = open_store(data_dir)
    store.create_collection("other", CollectionParams(vector_size=DIM))
    store.upsert("other", [Point(pid(path), [1.0] + [0.0] * (DIM - 1), {"path": path, "words": []})
                           for path in OWN])
    store.close()
    return data_dir


def test_a_merge_killed_midway_is_finished_after_a_restart(data_dir, ml_server, tmp_path, monkeypatch):
    library = tmp_path / "library"
    library.mkdir()
    hold_copies(tmp_path, monkeypatch)
    with IngestProcess(data_dir, library, ml_server.url) as service, service.client() as client:
        answer = client.post("/api/v1/collections/photos/merge", json={"into": "other"})
        assert answer.status_code == 202, answer.text
        task_id = answer.json()["task"]["task_id"]
        assert wait_until(lambda: first_page_copied(client, task_id))["total"] == POINTS
        service.kill()

    assert len(stored_paths(data_dir, "other")) == len(OWN) + PAGE  # the service died midway
    assert PendingCopies(data_dir).unfinished_merges() == [UnfinishedMerge("photos", "other", task_id)]
    monkeypatch.undo()  # the next start merges at its own pace
    with IngestProcess(data_dir, library, ml_server.url, port=service.port) as service, service.client() as client:
        task = wait_until(lambda: ended(client, task_id), what="the resumed merge")
        assert task["state"] == "completed", task
        assert task["result"] == {"merged": POINTS, "added": POINTS - PAGE, "from": "photos", "into": "other",
                                  "points_count": len(OWN) + POINTS, "sources": []}
    assert sorted(stored_paths(data_dir, "other")) == sorted(OWN + [f"/photos/{index}.jpg" for index in range(POINTS)])
    assert PendingCopies(data_dir).unfinished_merges() == []
