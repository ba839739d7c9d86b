"""Pipeline stages against a real job store and edge vector store in tmp_path, and an ML client over either
the session's ML app (`httpx.ASGITransport`) or a scripted `httpx.MockTransport`."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from sightline.config import IngestSettings
from sightline.ingest.jobdb import FileRecord, JobStore
from sightline.ingest.ml_client import MLClient
from sightline.ingest.model_match import collection_metadata
from sightline.ingest.vectors import CollectionParams, VectorStore, open_store
from tests.conftest import TEST_KEYS

COLLECTION = "photos"
FAKE_MODEL = {  # what the scripted ML service says it runs
    "backend": "fake", "embedding_model": "fake-clip", "dimension": 4, "caption_kind": "none", "max_batch_size": 8,
}
FAKE_VECTOR = [1.0, 0.0, 0.0, 0.0]

EmbedHandler = Callable[[httpx.Request], Awaitable[httpx.Response]]


def record(path: Path | str) -> FileRecord:
    return FileRecord(str(path), None, None, "pending", None, None)


def create_collection(vectors: VectorStore, capabilities: dict[str, Any], name: str = COLLECTION) -> None:
    """Creates the collection unless the module's store has it already (creating one takes about a second)."""
    if name not in {info.name for info in vectors.list_collections()}:
        vectors.create_collection(
            name, CollectionParams(vector_size=capabilities["dimension"], metadata=collection_metadata(capabilities))
        )


def fake_result(embedding_model: str = "fake-clip") -> dict[str, Any]:
    """One image result as the original-compatible ML API sends it."""
    return {"embedding": FAKE_VECTOR, "caption": "", "caption_kind": "none", "model_name_clip": embedding_model,
            "model_name_blip": None, "device_used": "cpu", "error": None}


def fake_ml(embed: EmbedHandler, capabilities: dict[str, Any] | None = None) -> MLClient:
    """An ML client whose service runs FAKE_MODEL (or says `capabilities`) and answers /embed_images with
    `embed`; no retries."""
    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/capabilities":
            return httpx.Response(200, json=capabilities or FAKE_MODEL)
        return await embed(request)

    return MLClient(["http://ml"], TEST_KEYS[0], retries=0, backoff=0.0, transport=httpx.MockTransport(handler))


def pipeline_settings(tmp_path: Path, **overrides: Any) -> IngestSettings:
    values: dict[str, Any] = dict(ml_url="http://ml", api_key=TEST_KEYS[0], data_dir=tmp_path / "data",
                                  ingest_roots=str(tmp_path))
    values.update(overrides)
    return IngestSettings(**values)


@pytest.fixture(scope="module")
def vectors(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VectorStore]:
    """One edge store per test module; tests keep apart by their paths (each test has its own tmp_path)."""
    store = open_store(tmp_path_factory.mktemp("vectors"))
    yield store
    store.close()


@pytest.fixture
def jobdb(tmp_path: Path) -> Iterator[JobStore]:
    with JobStore(tmp_path / "jobs.db") as store:
        yield store


@pytest.fixture
async def ml(ml_app) -> AsyncIterator[MLClient]:
    """The session's ML app (tiny models) in-process."""
    client = MLClient(["http://ml"], TEST_KEYS[0], retries=0, backoff=0.0, transport=httpx.ASGITransport(app=ml_app))
    yield client
    await client.aclose()


@pytest.fixture
async def capabilities(ml: MLClient) -> dict[str, Any]:
    return await ml.capabilities()


@contextmanager
def small_disk(path: Path, size: str = "16m") -> Iterator[Callable[[str], None]]:
    """A tmpfs of `size` mounted at `path` (root only), always unmounted; yields `resize("128m")`, which grows
    it in place (space returns)."""
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True)
    try:
        yield lambda new: subprocess.run(["mount", "-o", f"remount,size={new}", str(path)], check=True)
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)
