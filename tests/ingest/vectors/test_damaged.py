"""A corrupt collection of the embedded store is listed as damaged and can be deleted; the others keep working.

Each kind of garbage is written into a copy of a real store (two collections made once): the params file, the
shard's config, its WAL, and segment files - one of which (a garbage id mapping) makes the shard's loader
abort the whole process, so it must never be loaded in the service's own process.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from sightline.errors import ErrorCode
from sightline.ingest.vectors import CollectionDamaged, CollectionParams, open_store
from sightline.server import create_app
from tests.ingest.api.helpers import running, settings_for
from tests.ingest.vectors.data import DIM, N, POINTS

GARBAGE = b"\x93\xff garbage \x00\x01" * 64
CORRUPTIONS = {  # kind -> the files under the collection's folder that get garbage
    "params": "sightline.json",
    "shard-config": "shard/edge_config.json",
    "wal": "shard/wal/open-1",
    "segment-state": "shard/segments/*/segment.json",
    "segment-ids": "shard/segments/*/mutable_id_tracker.mappings",  # aborts the loader (a 50 GB allocation)
}


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A data folder with the collections "good" and "bad", both filled with `POINTS`."""
    data_dir = tmp_path_factory.mktemp("template")
    with open_store(data_dir) as store:
        for name in ("good", "bad"):
            store.create_collection(name, CollectionParams(vector_size=DIM, metadata={"backend": "test"}))
            store.upsert(name, POINTS)
    return data_dir


def corrupted_copy(template: Path, into: Path, kind: str) -> Path:
    """A copy of the template (sparse: the shard's files are mostly holes) with garbage in the bad collection."""
    subprocess.run(["cp", "-a", "--sparse=always", str(template), str(into)], check=True)
    files = list((into / "collections" / "bad").glob(CORRUPTIONS[kind]))
    assert files, kind
    for file in files:
        with open(file, "r+b") as f:
            f.write(GARBAGE)
    return into


@pytest.mark.parametrize("kind", list(CORRUPTIONS))
def test_a_damaged_collection_is_listed_as_such_and_can_be_deleted(template, tmp_path, kind):
    with open_store(corrupted_copy(template, tmp_path / "data", kind)) as store:
        listed = {info.name: info for info in store.list_collections()}
        assert (listed["good"].status, listed["good"].points_count) == ("ok", N)
        bad = listed["bad"]
        assert (bad.status, bad.points_count) == ("damaged", 0)
        assert "damaged" in bad.error and bad.error == store.collection_info("bad").error
        if kind != "params":
            assert bad.params.metadata == {"backend": "test"}  # still readable: shown as it was
        with pytest.raises(CollectionDamaged) as raised:
            store.count("bad")
        assert (raised.value.code, raised.value.status) == (ErrorCode.STORE_FAILED, 503)
        assert len(store.search("good", POINTS[0].vector, limit=3)) == 3

        store.delete_collection("bad")
        assert [info.name for info in store.list_collections()] == ["good"]
        store.upsert("good", POINTS[:1])
        assert store.count("good") == N


@pytest.mark.parametrize("kind", ["params", "segment-ids"])
async def test_the_api_and_the_pages_keep_working_with_a_damaged_collection(
    template, tmp_path, library, kind
):
    settings = settings_for(tmp_path, library, ml_url="http://127.0.0.1:9")  # no ML service: none is needed
    corrupted_copy(template, settings.data_dir, kind)
    async with running(settings, None, factory=create_app) as (_, api):
        listed = (await api.get("/api/v1/collections")).json()["collections"]
        assert [(c["name"], c["status"]) for c in listed] == [("bad", "damaged"), ("good", "ok")]
        assert "damaged" in listed[0]["error"]
        for page in ("/", "/collections", "/ingest", "/jobs", "/search"):
            response = await api.get(page)
            assert response.status_code == 200, (page, response.text[:300])
            if page in ("/", "/collections"):
                assert 'data-problem="bad">damaged</span>' in response.text, page
        for query in ({"point_id": POINTS[0].id}, {"text": "a cat"}):
            search = await api.post("/api/v1/search", json={"collection": "bad", **query})
            assert (search.status_code, search.json()["error"]["code"]) == (503, "STORE_FAILED"), query

        assert (await api.delete("/api/v1/collections/bad")).status_code == 204
        listed = (await api.get("/api/v1/collections")).json()["collections"]
        assert [(c["name"], c["status"], c["points_count"]) for c in listed] == [("good", "ok", N)]

