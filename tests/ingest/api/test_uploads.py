"""Uploads: the per-file limit and a full disk are met while the body streams in, with nothing kept and no job;
upload folders go with their collection."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.ingest.api.helpers import create, finished, running, settings_for
from tests.samples import distinct_image

CHUNK = 64 * 1024


def multipart(files: list[tuple[str, bytes]], collection: str = "photos") -> tuple[bytes, str]:
    """The body and content type a browser would send."""
    request = httpx.Request("POST", "http://x/", data={"collection": collection},
                            files=[("files", (name, data, "image/jpeg")) for name, data in files])
    return request.read(), request.headers["content-type"]


class Streamed:
    """A request body sent in chunks without a length (as a proxy may); counts what the server took."""

    def __init__(self, body: bytes):
        self.body, self.sent = body, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self.body), CHUNK):
            self.sent = start + CHUNK
            yield self.body[start:start + CHUNK]


def stored(uploads: Path) -> list[str]:
    """Every file left under the uploads folder, hidden ones included."""
    return sorted(str(path.relative_to(uploads)) for path in uploads.rglob("*") if path.is_file())


async def test_a_file_over_the_limit_is_refused_while_it_streams(loaded_ml_app, tmp_path, library):
    settings = settings_for(tmp_path, library, max_upload_bytes=1024 * 1024)
    async with running(settings, loaded_ml_app) as (_, api):
        await create(api)
        body, content_type = multipart([("ok.jpg", distinct_image(1)), ("big.jpg", b"\xff" * 8 * 1024 * 1024)])
        streamed = Streamed(body)
        response = await api.post("/api/v1/ingest/upload", content=streamed,
                                  headers={"content-type": content_type})
        assert response.status_code == 413, response.text
        assert response.json()["error"] | {"message": ""} == {"code": "FILE_TOO_LARGE", "where": "big.jpg",
                                                               "message": ""}
        assert streamed.sent < len(body) // 2  # refused once past the limit, not after the whole file
        assert (await api.get("/api/v1/jobs")).json()["jobs"] == []
    assert stored(settings.uploads_dir) == []


async def test_upload_folders_go_with_their_collection(api, tmp_path):
    await create(api)
    response = await api.post("/api/v1/ingest/upload", data={"collection": "photos"},
                              files=[("files", ("a.jpg", distinct_image(1), "image/jpeg"))])
    assert response.status_code == 202, response.text
    job = await finished(api, response.json()["job_id"])
    uploads = tmp_path / "data" / "uploads"
    assert stored(uploads) == [f"{job['job_id']}/a.jpg"]
    assert (await api.delete("/api/v1/collections/photos")).status_code == 204
    assert list(uploads.iterdir()) == []


async def test_an_unknown_collection_or_a_missing_part_keeps_nothing(api, tmp_path):
    await create(api)
    body, content_type = multipart([("a.jpg", distinct_image(1))], collection="nope")
    unknown = await api.post("/api/v1/ingest/upload", content=body, headers={"content-type": content_type})
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "NOT_FOUND")
    no_files = await api.post("/api/v1/ingest/upload", data={"collection": "photos"},
                              files={"other": ("x.txt", b"x")})
    assert (no_files.status_code, no_files.json()["error"]["where"]) == (422, "files")
    garbage = await api.post("/api/v1/ingest/upload", content=b"--x\r\nnonsense",
                             headers={"content-type": "multipart/form-data; boundary=x"})
    assert (garbage.status_code, garbage.json()["error"]["code"]) == (422, "VALIDATION_ERROR")
    assert stored(tmp_path / "data" / "uploads") == []
    assert (await api.get("/api/v1/jobs")).json()["jobs"] == []


@pytest.fixture()
def small_uploads_disk(tmp_path) -> Iterator[Path]:
    """A 72 MiB tmpfs as the uploads folder: room for the 64 MiB reserve, not for an 80 MiB file."""
    uploads = tmp_path / "data" / "uploads"
    uploads.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=72m", "tmpfs", str(uploads)], check=True)
    try:
        yield uploads
    finally:
        subprocess.run(["umount", "-l", str(uploads)], check=True)


async def test_a_full_disk_during_an_upload_is_disk_full_with_nothing_kept(
        loaded_ml_app, tmp_path, library, small_uploads_disk):
    async with running(settings_for(tmp_path, library), loaded_ml_app) as (_, api):
        await create(api)
        body, content_type = multipart([("ok.jpg", distinct_image(1)), ("big.jpg", b"\xff" * 80 * 1024 * 1024)])
        announced = await api.post("/api/v1/ingest/upload", content=body, headers={"content-type": content_type})
        assert (announced.status_code, announced.json()["error"]["code"]) == (507, "DISK_FULL")  # before a byte
        mid_write = await api.post("/api/v1/ingest/upload", content=Streamed(body),
                                   headers={"content-type": content_type})
        assert mid_write.status_code == 507, mid_write.text
        assert mid_write.json()["error"]["code"] == "DISK_FULL" and mid_write.json()["error"]["where"] == "big.jpg"
        assert stored(small_uploads_disk) == []
        assert (await api.get("/api/v1/jobs")).json()["jobs"] == []
        small = await api.post("/api/v1/ingest/upload", data={"collection": "photos"},
                               files=[("files", ("a.jpg", distinct_image(1), "image/jpeg"))])
        assert small.status_code == 202  # the space is back: uploads work again
        assert (await finished(api, small.json()["job_id"]))["counts"]["done"] == 1


def test_uploads_a_killed_process_left_unfinished_are_removed_at_start(tmp_path):
    from sightline.config import IngestSettings
    from sightline.ingest.app import build_services
    from sightline.ingest.uploads import STAGING_PREFIX

    settings = IngestSettings(data_dir=tmp_path / "data")
    unfinished = settings.uploads_dir / f"{STAGING_PREFIX}0123abcd"
    unfinished.mkdir(parents=True)
    (unfinished / "half.jpg").write_bytes(b"\xff\xd8" * 100)
    kept = settings.uploads_dir / "job-folder"
    kept.mkdir()
    services = build_services(settings)
    try:
        assert sorted(path.name for path in settings.uploads_dir.iterdir()) == ["job-folder"]
    finally:
        services.jobdb.close()
        services.vectors.close()
