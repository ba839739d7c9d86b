"""Points stored before words and sort dates existed get them, once, without touching anything else."""

from __future__ import annotations

import uuid

import pytest

from sightline.ingest.payload_upgrade import upgrade_all, upgrade_points, upgraded_fields
from sightline.ingest.vectors import CollectionParams, Point
from sightline.ingest.vectors.factory import open_store
from tests.ingest.api.helpers import running, settings_for

OLD = {  # a payload as ingestion wrote it before issue 14
    "path": "/lib/2019 Kyoto trip/DSC_0042.JPG", "folder": "/lib/2019 Kyoto trip", "filename": "DSC_0042.JPG",
    "format": "jpeg", "camera_make": "Canon", "camera_model": "Canon EOS R5", "camera": "Canon Canon EOS R5",
    "taken_at_ts": None, "mtime_ns": 1_600_000_000_000_000_000, "caption": "a photo of a pagoda",
}


def test_an_old_payload_gets_words_a_sort_date_and_its_camera_name() -> None:
    assert upgraded_fields(OLD, ["/lib"]) == {
        "camera": "Canon EOS R5", "sort_ts": 1.6e9, "date_source": "file",
        "words": "2019 kyoto trip dsc 0042 42 pagoda canon eos r5 5 jfif jpe jpeg jpg",
    }
    assert upgraded_fields({**OLD, "taken_at_ts": 1.5e9}, ["/lib"])["date_source"] == "taken"
    assert upgraded_fields({**OLD, "words": "x"}) == {}


def test_the_upgrade_merges_into_stored_points(tmp_path) -> None:
    store = open_store(tmp_path)
    store.create_collection("photos", CollectionParams(vector_size=2))
    ids = [str(uuid.uuid4()) for _ in range(3)]
    points = [Point(ids[0], [1.0, 0.0], OLD), Point(ids[1], [0.0, 1.0], {**OLD, "path": "/lib/b"}),
              Point(ids[2], [0.6, 0.8], {**OLD, "words": "already"})]
    store.upsert("photos", points)
    assert upgrade_points(store, "photos", points, ["/lib"]) == 2
    first, _, done = store.retrieve("photos", ids, with_vectors=True)
    assert first.vector == pytest.approx([1.0, 0.0]) and first.payload["path"] == OLD["path"]
    assert first.payload["camera"] == "Canon EOS R5" and "kyoto" in first.payload["words"].split()
    assert done.payload["words"] == "already"
    assert sorted(hit.id for hit in store.search_text("photos", "kyoto", limit=5)) == sorted(ids[:2])
    store.close()


async def test_every_collection_of_the_service_is_upgraded_once(ml_app, tmp_path, library) -> None:
    async with running(settings_for(tmp_path, library), ml_app) as (app, _):
        services = app.state.services
        await app.state.payload_upgrade  # the service's own run at start (nothing to do yet) is over
        for name, count in (("one", 1), ("two", 300)):  # "two" spans two pages
            services.vectors.create_collection(name, CollectionParams(vector_size=2))
            services.vectors.upsert(name, [Point(str(uuid.uuid4()), [1.0, 0.0], OLD) for _ in range(count)])
        assert await upgrade_all(services) == {"one": 1, "two": 300}
        assert await upgrade_all(services) == {"one": 0, "two": 0}
