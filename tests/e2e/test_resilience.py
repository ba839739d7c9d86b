"""Nothing lost: the ML service stopped mid-job, the ingestion service killed mid-job."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.conftest import ingest_settings, start_ingest, start_server
from tests.e2e.ingest_process import IngestProcess
from tests.helpers import free_port, wait_for_job, wait_until
from tests.samples import distinct_image

pytestmark = pytest.mark.e2e

IMAGES = 60


def photo_folder(root: Path, count: int = IMAGES) -> Path:
    root.mkdir(exist_ok=True)
    for index in range(count):
        (root / f"{index:03d}.jpg").write_bytes(distinct_image(index, size=(320, 240)))
    return root


def logs(client: httpx.Client, job_id: str) -> list[str]:
    return [line["message"] for line in client.get(f"/api/v1/jobs/{job_id}/logs").json()["logs"]]


def test_ml_service_stopped_mid_job_then_restarted_loses_nothing(ml_settings, tmp_path):
    from sightline.inference.app import create_app

    port = free_port()
    ml = start_server(create_app(ml_settings), port=port, health_path="/health")
    library = photo_folder(tmp_path / "library")
    ingest = start_ingest(ingest_settings(ml.url, tmp_path, [library], ml_batch_size=2, ml_retries=10,
                                          ml_backoff=0.2))
    try:
        with httpx.Client(base_url=ingest.url, timeout=30) as client:
            assert client.post("/api/v1/collections", json={"name": "photos"}).status_code == 201
            job_id = client.post("/api/v1/ingest/scan", json={"collection": "photos",
                                                              "directory_path": str(library)}).json()["job_id"]
            wait_until(lambda: client.get(f"/api/v1/jobs/{job_id}").json()["counts"]["done"] >= 4)
            ml.stop()
            stalled = client.get(f"/api/v1/jobs/{job_id}").json()
            wait_until(lambda: any("ML_UNAVAILABLE" in line and "retry 2/10" in line for line in logs(client, job_id)),
                       what="a second retry logged")
            assert client.get(f"/api/v1/jobs/{job_id}").json()["state"] == "running"  # waiting, not failed
            ml = start_server(create_app(ml_settings), port=port, health_path="/health")
            job = wait_for_job(client, job_id, timeout=120)
            assert stalled["counts"]["done"] < IMAGES
            assert job["state"] == "completed", job
            assert (job["counts"]["done"], job["counts"]["failed"]) == (IMAGES, 0)
            assert client.get("/api/v1/collections/photos").json()["points_count"] == IMAGES
    finally:
        ingest.stop()
        ml.stop()


def test_ml_service_gone_for_good_fails_the_job_with_retriable_errors(ml_settings, tmp_path):
    library = photo_folder(tmp_path / "library", count=3)
    from sightline.inference.app import create_app

    ml = start_server(create_app(ml_settings), health_path="/health")
    ingest = start_ingest(ingest_settings(ml.url, tmp_path, [library], ml_retries=2, ml_backoff=0.05))
    try:
        with httpx.Client(base_url=ingest.url, timeout=30) as client:
            client.post("/api/v1/collections", json={"name": "photos"})
            ml.stop()
            job_id = client.post("/api/v1/ingest/scan", json={"collection": "photos",
                                                              "directory_path": str(library)}).json()["job_id"]
            job = wait_for_job(client, job_id, timeout=60)
            assert job["state"] == "failed"
            assert job["error"]["code"] == "ML_UNAVAILABLE"
    finally:
        ingest.stop()


def test_ingestion_service_killed_mid_job_resumes_without_loss_or_duplicates(ml_server, tmp_path):
    library = photo_folder(tmp_path / "library", count=80)
    data_dir = tmp_path / "data"
    with IngestProcess(data_dir, library, ml_server.url) as service, service.client() as client:
        assert client.post("/api/v1/collections", json={"name": "photos"}).status_code == 201
        job_id = client.post("/api/v1/ingest/scan", json={"collection": "photos",
                                                          "directory_path": str(library)}).json()["job_id"]
        wait_until(lambda: client.get(f"/api/v1/jobs/{job_id}").json()["counts"]["done"] >= 6, interval=0.005)
        service.kill()

    from sightline.ingest.jobdb import JobStore

    with JobStore(data_dir / "sightline.db") as jobs:
        interrupted = jobs.get_job(job_id)
    assert interrupted.state == "running"
    assert 0 < interrupted.counts.done < 80

    with IngestProcess(data_dir, library, ml_server.url, port=service.port) as service, service.client() as client:
        job = wait_for_job(client, job_id, timeout=120)
        assert job["state"] == "completed", job
        assert job["counts"]["total"] == 80
        assert job["counts"]["done"] + job["counts"]["cached"] + job["counts"]["skipped"] == 80
        assert job["counts"]["failed"] == 0
        assert client.get("/api/v1/collections/photos").json()["points_count"] == 80
        assert any("resumed" in line for line in logs(client, job_id))


def test_several_ml_urls_fail_over_to_the_live_replica(ml_server, tmp_path):
    library = photo_folder(tmp_path / "library", count=6)
    dead = f"http://127.0.0.1:{free_port()}"
    ingest = start_ingest(ingest_settings(f"{dead},{ml_server.url}", tmp_path, [library], ml_batch_size=2,
                                          ml_retries=3, ml_backoff=0.05))
    try:
        with httpx.Client(base_url=ingest.url, timeout=30) as client:
            assert client.post("/api/v1/collections", json={"name": "photos"}).status_code == 201
            job_id = client.post("/api/v1/ingest/scan", json={"collection": "photos",
                                                              "directory_path": str(library)}).json()["job_id"]
            job = wait_for_job(client, job_id)
            assert (job["state"], job["counts"]["done"]) == ("completed", 6)
            replicas = client.get("/api/v1/status").json()["ml"]["replicas"]
            assert [replica["reachable"] for replica in replicas] == [False, True]
    finally:
        ingest.stop()
