"""Stage 3: upsert the points, then record the outcomes (real edge store and job store)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sightline.ingest.jobdb import JobStore
from sightline.ingest.pipeline.write import record_outcomes, store_points
from sightline.ingest.pipeline.work import Embedding, FileWork
from sightline.ingest.vectors import VectorStore
from tests.ingest.pipeline.conftest import COLLECTION, FAKE_MODEL, FAKE_VECTOR, create_collection, record

PROVENANCE = {"embedding_model": "fake-clip", "caption_model": None, "caption_kind": "none", "device": "cpu"}


@pytest.fixture
def works(tmp_path: Path) -> list[FileWork]:
    paths = [str(tmp_path / name) for name in ("done.jpg", "cached.jpg", "failed.jpg", "pending.jpg")]
    works = [FileWork(record(path), f"{index:032x}", size=1, mtime_ns=2, sha256=f"h{index}")
             for index, path in enumerate(paths)]
    works[0].embedding, works[0].state = Embedding(FAKE_VECTOR, "a cat", PROVENANCE), "done"
    works[1].reuse(Embedding(FAKE_VECTOR, "a cat", PROVENANCE))
    works[2].fail("decode", "DECODE_FAILED", "truncated")
    return works


async def test_ready_files_are_stored_as_points(vectors: VectorStore, works: list[FileWork]) -> None:
    create_collection(vectors, FAKE_MODEL)
    await store_points(vectors, COLLECTION, "job1", works)
    points = vectors.retrieve(COLLECTION, [work.point_id for work in works])
    assert [(point.id.replace("-", ""), point.payload["path"], point.payload["job_id"]) for point in points] == [
        (works[0].point_id, works[0].record.path, "job1"), (works[1].point_id, works[1].record.path, "job1"),
    ]


async def test_a_store_failure_fails_the_ready_files(vectors: VectorStore, works: list[FileWork]) -> None:
    await store_points(vectors, "no-such-collection", "job1", works)
    assert [work.error for work in works[:2]] == [
        ("store", "STORE_FAILED", "could not store the point: collection 'no-such-collection' does not exist")
    ] * 2


async def test_outcomes_and_errors_are_recorded(jobdb: JobStore, works: list[FileWork]) -> None:
    job = jobdb.create_job(COLLECTION, "scan", "/x")
    jobdb.add_files(job.job_id, [(work.record.path, 1, 2.0) for work in works])
    await record_outcomes(jobdb, job.job_id, works)
    files = jobdb.files(job.job_id)
    assert [(f.state, f.point_id, f.sha256) for f in files] == [
        ("done", works[0].point_id, "h0"), ("cached", works[1].point_id, "h1"), ("failed", None, "h2"),
        ("pending", None, None),
    ]
    assert [e.to_dict() | {"at": None} for e in jobdb.errors(job.job_id)] == [
        {"path": works[2].record.path, "stage": "decode", "code": "DECODE_FAILED", "message": "truncated",
         "retriable": False, "at": None}
    ]
