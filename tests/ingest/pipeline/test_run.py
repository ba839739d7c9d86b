"""`JobRun`: one job through every stage to its final state (the session's ML app in-process, unless a test
scripts the ML service)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from sightline.ingest.jobdb import JobStore
from sightline.ingest.ml_client import MLClient
from sightline.ingest.pipeline import JobRun, point_id_for
from sightline.ingest.vectors import VectorStore
from tests.ingest.pipeline.conftest import COLLECTION, FAKE_MODEL, create_collection, fake_ml, pipeline_settings
from tests.samples import distinct_image


def library(root: Path, first_seed: int) -> Path:
    """Three distinct photos, a copy of the first, and a file that is no image."""
    root.mkdir()
    for offset, name in enumerate(("a.jpg", "b.jpg", "c.jpg")):
        (root / name).write_bytes(distinct_image(first_seed + offset, fmt="JPEG"))
    (root / "copy-of-a.jpg").write_bytes((root / "a.jpg").read_bytes())
    (root / "broken.jpg").write_bytes(b"not an image at all")
    return root


async def run_scan(
    folder: Path, jobdb: JobStore, vectors: VectorStore, ml: MLClient, tmp_path: Path,
    collection: str = COLLECTION, **settings: Any
) -> JobRun:
    job = jobdb.create_job(collection, "scan", str(folder))
    run = JobRun(job, jobdb, vectors, ml, pipeline_settings(tmp_path, **settings))
    await run.run(rescan=True)
    return run


@pytest.fixture
def collection(vectors: VectorStore, capabilities: dict[str, Any]) -> None:
    create_collection(vectors, capabilities)


@pytest.mark.usefixtures("collection")
async def test_a_scan_job_embeds_reuses_and_reports(
    jobdb: JobStore, vectors: VectorStore, ml: MLClient, tmp_path: Path
) -> None:
    # One batch in flight: with two, the copy's batch may be read before its original's result is known.
    run = await run_scan(library(tmp_path / "photos", 100), jobdb, vectors, ml, tmp_path, ml_batch_size=2,
                         batches_in_flight=1)
    job = jobdb.get_job(run.job_id)
    assert job is not None and (job.state, job.error) == ("completed_with_errors", None)
    assert (job.counts.done, job.counts.cached, job.counts.failed, job.counts.pending) == (3, 1, 1, 0)
    assert [(e.path, e.code, e.retriable) for e in jobdb.errors(run.job_id)] == [
        (str(tmp_path / "photos" / "broken.jpg"), "UNSUPPORTED_FORMAT", False)
    ]
    assert jobdb.logs(run.job_id)[-1].message == (
        "finished: 3 embedded, 1 reused, 0 unchanged, 0 moved, 0 removed, 1 failed")


@pytest.mark.usefixtures("collection")
async def test_a_second_scan_skips_unchanged_files(
    jobdb: JobStore, vectors: VectorStore, ml: MLClient, tmp_path: Path
) -> None:
    folder = library(tmp_path / "photos", 200)
    await run_scan(folder, jobdb, vectors, ml, tmp_path)
    again = await run_scan(folder, jobdb, vectors, ml, tmp_path)
    counts = jobdb.counts(again.job_id)
    assert (counts.skipped, counts.failed, counts.done + counts.cached) == (4, 1, 0)


@pytest.mark.usefixtures("collection")
async def test_a_job_whose_files_all_fail_fails(
    jobdb: JobStore, vectors: VectorStore, ml: MLClient, tmp_path: Path
) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "broken.jpg").write_bytes(b"not an image")
    run = await run_scan(folder, jobdb, vectors, ml, tmp_path)
    job = jobdb.get_job(run.job_id)
    assert job is not None
    assert (job.state, job.error) == (
        "failed", {"code": "ALL_FILES_FAILED", "message": "the only file failed; see the errors"}
    )


async def test_a_collection_of_another_model_fails_the_job(
    jobdb: JobStore, vectors: VectorStore, ml: MLClient, tmp_path: Path
) -> None:
    create_collection(vectors, FAKE_MODEL, "fake")  # the ML app runs the tiny model, not FAKE_MODEL
    folder = library(tmp_path / "photos", 300)
    run = await run_scan(folder, jobdb, vectors, ml, tmp_path, "fake")
    job = jobdb.get_job(run.job_id)
    assert job is not None
    assert (job.state, job.error["code"], job.counts.total) == ("failed", "MODEL_MISMATCH", 0)  # type: ignore[index]


async def test_an_unreachable_ml_service_fails_the_job_with_retriable_errors(
    jobdb: JobStore, vectors: VectorStore, tmp_path: Path
) -> None:
    async def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    create_collection(vectors, FAKE_MODEL, "fake")
    ml = fake_ml(unreachable)
    run = await run_scan(library(tmp_path / "photos", 400), jobdb, vectors, ml, tmp_path, "fake")
    await ml.aclose()
    job = jobdb.get_job(run.job_id)
    assert job is not None
    assert (job.state, job.error["code"]) == ("failed", "ML_UNAVAILABLE")  # type: ignore[index]
    assert {(e.code, e.retriable) for e in jobdb.errors(run.job_id)} == {("ML_UNAVAILABLE", True)}


async def test_a_bug_fails_the_job_as_an_internal_error(
    jobdb: JobStore, vectors: VectorStore, ml: MLClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(name: str) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(vectors, "collection_info", broken)
    run = await run_scan(tmp_path, jobdb, vectors, ml, tmp_path)
    job = jobdb.get_job(run.job_id)
    assert job is not None
    assert (job.state, job.error) == (
        "failed", {"code": "INTERNAL_ERROR", "message": "Unexpected error: RuntimeError: boom"}
    )


@pytest.mark.usefixtures("collection")
async def test_a_cancelled_run_stops_before_its_next_batch(
    jobdb: JobStore, vectors: VectorStore, ml: MLClient, tmp_path: Path
) -> None:
    job = jobdb.create_job(COLLECTION, "scan", str(library(tmp_path / "photos", 500)))
    run = JobRun(job, jobdb, vectors, ml, pipeline_settings(tmp_path))
    run.cancel_requested = True
    await run.run(rescan=True)
    got = jobdb.get_job(job.job_id)
    assert got is not None and (got.state, got.counts.pending) == ("cancelled", 5)


@pytest.mark.usefixtures("collection")
async def test_a_name_that_is_not_utf8_is_ingested_with_the_others(
    jobdb: JobStore, vectors: VectorStore, ml: MLClient, tmp_path: Path
) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    for seed in range(5):
        (folder / f"{seed}.jpg").write_bytes(distinct_image(700 + seed, fmt="JPEG"))
    (folder / os.fsdecode(b"bad\xfe.jpg")).write_bytes(distinct_image(705, fmt="JPEG"))
    run = await run_scan(folder, jobdb, vectors, ml, tmp_path)
    job = jobdb.get_job(run.job_id)
    assert job is not None and (job.state, job.counts.done, job.counts.failed) == ("completed", 6, 0)
    text = str(folder / "bad\\xfe.jpg")  # the path's text form (see sightline.ingest.paths)
    [point] = vectors.retrieve(COLLECTION, [point_id_for(COLLECTION, text)])
    assert (point.payload["path"], point.payload["filename"]) == (text, "bad\\xfe.jpg")


@pytest.mark.usefixtures("collection")
async def test_pending_files_are_read_page_by_page(
    jobdb: JobStore, vectors: VectorStore, ml: MLClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sightline.ingest.pipeline import run as run_module

    monkeypatch.setattr(run_module, "PENDING_PAGE", 2)
    run = await run_scan(library(tmp_path / "photos", 140), jobdb, vectors, ml, tmp_path, ml_batch_size=1,
                         batches_in_flight=2)
    job = jobdb.get_job(run.job_id)
    assert (job.counts.done + job.counts.cached, job.counts.failed, job.counts.pending) == (4, 1, 0)
    assert [line.message for line in jobdb.logs(run.job_id) if line.message.startswith("batch ")][-1].startswith(
        "batch 5:")
