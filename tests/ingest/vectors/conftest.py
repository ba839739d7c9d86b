"""Stores of every adapter for the contract tests (`backends`), empty, filled or shared."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sightline.ingest.vectors import CollectionParams, VectorStore, open_store
from tests.ingest.vectors.backends import BACKEND_IDS, BACKENDS, Opener
from tests.ingest.vectors.data import DIM, N, POINTS


@pytest.fixture(params=BACKENDS, ids=BACKEND_IDS)
def opener(request, tmp_path: Path) -> Iterator[Opener]:
    opener = Opener(request.param, tmp_path)
    yield opener
    opener.close_all()


@pytest.fixture()
def store(opener: Opener) -> VectorStore:
    return opener()


@pytest.fixture()
def filled(store: VectorStore) -> VectorStore:
    """A fresh store with the collection "photos" holding `POINTS`, written in two batches."""
    store.create_collection("photos", CollectionParams(vector_size=DIM, metadata={"backend": "test"}))
    store.upsert("photos", POINTS[:10])
    store.upsert("photos", POINTS[10:])
    return store


@pytest.fixture(scope="module", params=BACKENDS, ids=BACKEND_IDS)
def shared(request, tmp_path_factory) -> Iterator[VectorStore]:
    """The filled "photos" collection, made once per backend for the tests that only read it
    (creating an edge collection persists six payload indexes: 0.3-1 s on a busy machine)."""
    data_dir = tmp_path_factory.mktemp(f"shared-{request.param.id}")
    store = open_store(data_dir, qdrant_url=request.param.url(data_dir), own_process=request.param.own_process)
    store.create_collection("photos", CollectionParams(vector_size=DIM))
    store.upsert("photos", POINTS)
    yield store
    assert store.count("photos") == N, "a read-only test changed the shared collection"
    store.close()


@pytest.fixture(scope="module", params=BACKENDS, ids=BACKEND_IDS)
def scratch_store(request, tmp_path_factory) -> Iterator[VectorStore]:
    data_dir = tmp_path_factory.mktemp(f"scratch-{request.param.id}")
    store = open_store(data_dir, qdrant_url=request.param.url(data_dir), own_process=request.param.own_process)
    store.create_collection("c", CollectionParams(vector_size=DIM))
    yield store
    store.close()


@pytest.fixture()
def scratch(scratch_store: VectorStore) -> VectorStore:
    """An emptied collection "c" (DIM, Cosine) for tests that write points but need no fresh
    collection; emptying is much cheaper than creating."""
    while True:
        page, _ = scratch_store.scroll("c", limit=1000)
        if not page:
            return scratch_store
        scratch_store.delete_points("c", [p.id for p in page])
