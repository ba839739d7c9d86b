"""Batches by count and by bytes, from the limits the ML service reports; a file over them fails alone."""

from __future__ import annotations

from pathlib import Path

import httpx

from sightline.ingest.jobdb import FileRecord, JobStore
from sightline.ingest.pipeline import JobRun
from sightline.ingest.pipeline.batching import BatchLimits
from sightline.ingest.vectors import VectorStore
from tests.ingest.pipeline.conftest import FAKE_MODEL, create_collection, fake_ml, fake_result, pipeline_settings

LIMIT = 96 * 1024  # the scripted ML service's max_request_bytes
CAPABILITIES = {**FAKE_MODEL, "max_request_bytes": LIMIT}


async def test_a_folder_larger_than_one_request_is_sent_in_requests_under_the_limit(
    jobdb: JobStore, vectors: VectorStore, tmp_path: Path
) -> None:
    create_collection(vectors, FAKE_MODEL, "bytes")
    folder = tmp_path / "photos"
    folder.mkdir()
    for index in range(12):  # 20 KB each, 8 per batch by count: 160 KB, over the 96 KB limit (never decoded)
        (folder / f"{index:02}.jpg").write_bytes(b"%02d" % index * 10_000)
    (folder / "huge.jpg").write_bytes(b"\xff" * (LIMIT + 1))  # over the limit on its own
    sizes: list[int] = []

    async def embed(request: httpx.Request) -> httpx.Response:
        body = request.read()
        sizes.append(len(body))
        if len(body) > LIMIT:
            return httpx.Response(413, json={"error": {"code": "REQUEST_TOO_LARGE", "message": "too large"}})
        return httpx.Response(200, json={"results": [fake_result()] * body.count(b'name="images"')})

    ml = fake_ml(embed, CAPABILITIES)
    job = jobdb.create_job("bytes", "scan", str(folder))
    await JobRun(job, jobdb, vectors, ml, pipeline_settings(tmp_path)).run(rescan=True)
    await ml.aclose()
    got = jobdb.get_job(job.job_id)
    assert got is not None and (got.state, got.counts.done, got.counts.failed) == ("completed_with_errors", 12, 1)
    assert [(error.path, error.code) for error in jobdb.errors(job.job_id)] == [
        (str(folder / "huge.jpg"), "FILE_TOO_LARGE")
    ]
    assert len(sizes) >= 3 and max(sizes) <= LIMIT


def test_groups_end_before_either_limit_and_a_file_over_it_costs_nothing() -> None:
    limits = BatchLimits(files=3, request_bytes=12_000, file_bytes=9_000)  # 1 KiB part headers
    sizes = [4_000, 4_000, 4_000, 50_000, 100, 100, 100, 100, None]
    records = [FileRecord(f"/p/{index}.jpg", size, None, "pending", None, None) for index, size in enumerate(sizes)]
    groups = [[int(record.path[3]) for record in group] for group in limits.groups(records, lambda r: r.size)]
    assert groups == [[0, 1], [2, 3, 4], [5, 6, 7], [8]]


def test_limits_come_from_the_ml_service_and_ours(tmp_path: Path) -> None:
    settings = pipeline_settings(tmp_path, ml_batch_size=16, max_upload_bytes=10**9)
    caps = {"max_batch_size": 8, "max_request_bytes": 8 * 2**20, "max_image_bytes": 5 * 2**20}
    assert BatchLimits.from_capabilities(caps, settings) == BatchLimits(8, 8 * 2**20 - 65536, 5 * 2**20)
    assert BatchLimits.from_capabilities({}, settings) == BatchLimits(16, None, 10**9)
