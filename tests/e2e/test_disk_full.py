"""The ingestion service on a full disk (a small tmpfs data folder): DISK_FULL instead of a SIGBUS, it stays up and
serves reads, and once there is room again the same requests store everything. (An upsert refused on a full
disk is tested on the store itself in tests/ingest/test_disk.py: here the job store refuses the scan first.)"""

from __future__ import annotations

import httpx
import pytest

from sightline.ingest.disk import DEFAULT_RESERVE_BYTES
from tests.conftest import ingest_settings, start_ingest
from tests.e2e.test_resilience import photo_folder
from tests.helpers import wait_for_job
from tests.ingest.test_disk import MIB, fill, resize, tmpfs

pytestmark = pytest.mark.e2e


def test_full_disk_answers_disk_full_and_the_service_stays_up(ml_server, tmp_path):
    library = photo_folder(tmp_path / "library", count=6)
    with tmpfs(tmp_path / "mnt", 30) as mount:
        ingest = start_ingest(ingest_settings(ml_server.url, mount, [library]))
        try:
            with httpx.Client(base_url=ingest.url, timeout=60) as client:
                full = client.post("/api/v1/collections", json={"name": "photos"})
                assert (full.status_code, full.json()["error"]["code"]) == (507, "DISK_FULL")
                assert client.get("/api/v1/collections").json() == {"collections": []}  # still up

                resize(mount, 300)
                assert client.post("/api/v1/collections", json={"name": "photos"}).status_code == 201
                scan = {"collection": "photos", "directory_path": str(library)}
                started = client.post("/api/v1/ingest/scan", json=scan)
                assert started.status_code == 202, started.text
                first = wait_for_job(client, started.json()["job_id"])
                assert first["counts"]["done"] == 6

                filler = fill(mount, DEFAULT_RESERVE_BYTES - 8 * MIB)
                photo_folder(library, count=10)  # 4 new photos
                refused = client.post("/api/v1/ingest/scan", json=scan)
                assert (refused.status_code, refused.json()["error"]["code"]) == (507, "DISK_FULL")
                assert client.get("/api/v1/collections/photos").json()["points_count"] == 6  # reads go on
                assert client.get("/health").status_code == 200

                filler.unlink()
                started = client.post("/api/v1/ingest/scan", json=scan)
                assert started.status_code == 202, started.text
                assert wait_for_job(client, started.json()["job_id"])["counts"]["done"] == 4  # the new photos
                assert client.get("/api/v1/collections/photos").json()["points_count"] == 10
        finally:
            ingest.stop()
