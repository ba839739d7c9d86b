"""Building a collection's vector index through the API, and by itself after a big enough job."""

from __future__ import annotations

from tests.ingest.api.helpers import create, ingested, running, settings_for, until
from tests.samples import distinct_image


def photos(folder, count: int = 6) -> None:
    for i in range(count):
        (folder / f"p{i}.jpg").write_bytes(distinct_image(i))


async def index_state(api, name: str = "photos") -> dict:
    response = await api.get(f"/api/v1/collections/{name}/index")
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_requested_build_indexes_the_collection_and_search_goes_on(api, library):
    photos(library)
    await create(api, hnsw={"m": 8, "ef_construct": 32})
    await ingested(api, library)
    before = (await api.get("/api/v1/collections/photos")).json()
    assert "hnsw_m" in before["ignored_params"]

    started = await api.post("/api/v1/collections/photos/index", params={"threshold_kb": 1})
    assert (started.status_code, started.json()["state"]) == (202, "building")
    states: list[dict] = []

    async def built() -> bool:
        states.append(await index_state(api))
        return states[-1]["state"] == "idle"

    while not await built():
        pass
    assert states[-1]["last_build"]["state"] == "done", states[-1]
    assert states[-1]["last_build"]["indexed_vectors"] == 6
    after = (await api.get("/api/v1/collections/photos")).json()
    assert (after["ignored_params"], after["points_count"]) == ([], 6)
    hits = (await api.post("/api/v1/search", json={"collection": "photos", "point_id": None,
                                                    "text": "a photo", "limit": 3})).json()["results"]
    assert len(hits) == 3


async def test_index_of_an_unknown_collection_is_404(api):
    response = await api.post("/api/v1/collections/nope/index")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "NOT_FOUND")


async def test_a_job_that_reaches_the_size_builds_the_index_by_itself(loaded_ml_app, tmp_path, library):
    photos(library, 4)
    async with running(settings_for(tmp_path, library, index_min_points=4), loaded_ml_app) as (app, api):
        await create(api)
        await ingested(api, library)
        indexer = app.state.services.runner.indexer
        await until(lambda: indexer.status("photos")["last_build"] is not None, what="an automatic build")
        assert indexer.status("photos")["last_build"]["state"] == "done"
