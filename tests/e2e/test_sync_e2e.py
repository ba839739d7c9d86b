"""The ingestion service killed, the source folder changed while it is down, the service started again: its
start-up sync finds every change (added, modified, deleted, renamed), over real HTTP and processes."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from sightline.ingest.pipeline import point_id_for
from tests.e2e.ingest_process import IngestProcess
from tests.helpers import wait_for_job, wait_until
from tests.samples import distinct_image

pytestmark = pytest.mark.e2e


def point(client: httpx.Client, path: Path) -> dict | None:
    answer = client.get(f"/api/v1/collections/photos/points/{point_id_for('photos', str(path))}")
    return answer.json()["payload"] if answer.status_code == 200 else None


def test_changes_made_while_the_service_was_down_are_caught_up(ml_server, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SIGHTLINE_SOURCE_SETTLE_SECONDS", "0.2")
    library = tmp_path / "library"
    library.mkdir()
    kept, edited, deleted, renamed = (library / f"{name}.jpg" for name in ("kept", "edited", "deleted", "old"))
    for index, path in enumerate((kept, edited, deleted, renamed)):
        path.write_bytes(distinct_image(index))
    data_dir = tmp_path / "data"
    with IngestProcess(data_dir, library, ml_server.url) as service, service.client() as client:
        assert client.post("/api/v1/collections", json={"name": "photos"}).status_code == 201
        source = client.post("/api/v1/collections/photos/sources", json={"path": str(library)}).json()
        assert wait_for_job(client, source["job_id"])["counts"]["done"] == 4
        old_sha = point(client, edited)["sha256"]
        service.kill()

    added = library / "added.jpg"
    added.write_bytes(distinct_image(10))
    edited.write_bytes(distinct_image(11))
    deleted.unlink()
    os.rename(renamed, library / "new.jpg")

    with IngestProcess(data_dir, library, ml_server.url, port=service.port) as service, service.client() as client:
        def caught_up() -> bool:
            answer = client.get(f"/api/v1/collections/photos/sources/{source['source_id']}").json()
            return answer["last_sync"]["job_id"] != source["job_id"] and answer["state"] == "watching"

        wait_until(caught_up, timeout=60, what="the start-up sync")
        present = {path.name for path in (kept, edited, deleted, renamed, added, library / "new.jpg")
                   if point(client, path)}
        assert present == {"kept.jpg", "edited.jpg", "added.jpg", "new.jpg"}
        assert point(client, edited)["sha256"] != old_sha
        assert client.get("/api/v1/collections/photos").json()["points_count"] == 4
        jobs = client.get("/api/v1/jobs", params={"collection": "photos"}).json()["jobs"]
        startup = next(job for job in jobs if job["options"].get("reason") == "service start")
        counts = startup["counts"]
        assert (counts["done"], counts["moved"], counts["removed"], counts["skipped"]) == (2, 1, 1, 1)
