"""A collection from a selection survives its service stopped mid-copy: a real ingestion service process killed
(SIGKILL) or shut down (SIGTERM; uvicorn treats SIGINT alike) while it copies, then started again on the same
data directory, finishes the copy under the task id its client followed; the collection ends with exactly the
selection. The copy is held after its first page (a hook the child process loads, `held_copies.HOLD`) until the
service stops, so the stop always lands midway."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from sightline.ingest.review.pending import PendingCopies
from tests.e2e.held_copies import PAGE, POINTS, ended, first_page_copied, hold_copies, photos_dir, stored_paths
from tests.e2e.ingest_process import IngestProcess
from tests.helpers import wait_until
from tests.ingest.review.sets import pid

pytestmark = pytest.mark.e2e


def selection() -> list[str]:
    """Every point but each sixth: not the whole source."""
    return [pid(f"p{index}") for index in range(POINTS) if index % 6]


@pytest.fixture()
def data_dir(tmp_path) -> Path:
    return photos_dir(tmp_path)


@pytest.fixture()
def held(tmp_path, monkeypatch) -> None:
    hold_copies(tmp_path, monkeypatch)


def stop(service: IngestProcess, how: str) -> None:
    assert service.process is not None and service.process.stderr is not None
    if how == "SIGKILL":
        service.kill()
        return
    service.process.send_signal(getattr(signal, how))
    service.process.wait(timeout=30)  # uvicorn ends by raising the signal again, after its shutdown
    assert "the copy goes on at its next start" in service.process.stderr.read().decode()  # stopped, not cut


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

    assert PAGE <= len(stored_paths(data_dir, "picked")) <= 2 * PAGE  # the service stopped midway
    assert [copy.task_id for copy in PendingCopies(data_dir).unfinished()] == [task_id]
    monkeypatch.undo()  # the next start copies at its own pace
    with IngestProcess(data_dir, library, ml_server.url, port=service.port) as service, service.client() as client:
        task = wait_until(lambda: ended(client, task_id), what="the resumed copy")
        assert (task["state"], task["total"], task["result"]["points_count"]) == ("completed", len(ids), len(ids))
    assert sorted(stored_paths(data_dir, "picked")) == sorted(f"/photos/{index}.jpg" for index in range(POINTS)
                                                              if index % 6)
    assert PendingCopies(data_dir).unfinished() == []
