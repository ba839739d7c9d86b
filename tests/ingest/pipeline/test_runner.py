"""`JobRunner`: the queue of jobs, resuming at start-up, cancelling (a scripted ML service, events, no sleeps)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest

from sightline.ingest.jobdb import JobStore
from sightline.ingest.pipeline import JobRunner
from sightline.ingest.vectors import VectorStore
from tests.ingest.pipeline.conftest import FAKE_MODEL, create_collection, fake_ml, fake_result, pipeline_settings
from tests.samples import distinct_image

COLLECTION = "queue"
SEEDS = itertools.count(600)  # new content for every test: the module's tests share one collection


async def answer(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"results": [fake_result()]})


@pytest.fixture
def folder(tmp_path: Path, vectors: VectorStore) -> Path:
    create_collection(vectors, FAKE_MODEL, COLLECTION)
    (tmp_path / "photos").mkdir()
    for name in ("a.jpg", "b.jpg"):
        (tmp_path / "photos" / name).write_bytes(distinct_image(next(SEEDS), fmt="JPEG"))
    return tmp_path / "photos"


@pytest.fixture
async def start_runner(
    jobdb: JobStore, vectors: VectorStore, tmp_path: Path
) -> AsyncIterator[Callable[..., asyncio.Future]]:
    runners: list[JobRunner] = []

    async def start(embed=answer) -> JobRunner:
        settings = pipeline_settings(tmp_path, ml_batch_size=1, batches_in_flight=1)
        runner = JobRunner(jobdb, vectors, fake_ml(embed), settings)
        runners.append(runner)
        await runner.start()
        return runner

    yield start  # type: ignore[misc]
    for runner in runners:
        await runner.stop()
        await runner.ml.aclose()


async def test_queued_jobs_run_one_after_another(jobdb: JobStore, folder: Path, start_runner) -> None:
    runner = await start_runner()
    first = jobdb.create_job(COLLECTION, "scan", str(folder))
    second = jobdb.create_job(COLLECTION, "scan", str(folder))
    runner.enqueue(first.job_id)
    runner.enqueue(second.job_id)
    await runner.join()
    states = [(job.state, job.counts.done, job.counts.skipped) for job in map(jobdb.get_job, (first.job_id,
                                                                                             second.job_id))]
    assert states == [("completed", 2, 0), ("completed", 0, 2)]


async def test_start_resumes_interrupted_and_queued_jobs(jobdb: JobStore, folder: Path, start_runner) -> None:
    interrupted = jobdb.create_job(COLLECTION, "scan", str(folder))
    jobdb.set_state(interrupted.job_id, "running")  # as a killed process left it
    runner = await start_runner()
    await runner.join()
    job = jobdb.get_job(interrupted.job_id)
    assert job is not None and (job.state, job.counts.done) == ("completed", 2)
    assert jobdb.logs(interrupted.job_id)[0].message == "resumed after restart"


async def test_a_queued_job_is_cancelled_at_once(jobdb: JobStore, folder: Path, start_runner) -> None:
    runner = await start_runner()
    job = jobdb.create_job(COLLECTION, "scan", str(folder))
    assert await runner.cancel(job.job_id) is True
    runner.enqueue(job.job_id)
    await runner.join()
    got = jobdb.get_job(job.job_id)
    assert got is not None and (got.state, got.counts.total) == ("cancelled", 0)
    assert [line.message for line in jobdb.logs(job.job_id)] == ["cancelled before it started"]


async def test_an_unknown_job_cannot_be_cancelled(start_runner) -> None:
    runner = await start_runner()
    assert await runner.cancel("no-such-job") is False


async def test_a_running_job_stops_after_its_batch_in_flight(jobdb: JobStore, folder: Path, start_runner) -> None:
    arrived, release = asyncio.Event(), asyncio.Event()

    async def held(request: httpx.Request) -> httpx.Response:
        arrived.set()
        await release.wait()
        return await answer(request)

    runner = await start_runner(held)
    job = jobdb.create_job(COLLECTION, "scan", str(folder))
    runner.enqueue(job.job_id)
    await arrived.wait()  # the first of two one-file batches is at the ML service
    assert await runner.cancel(job.job_id) is True
    release.set()
    await runner.join()
    got = jobdb.get_job(job.job_id)
    assert got is not None and (got.state, got.counts.done, got.counts.pending) == ("cancelled", 1, 1)
