"""Collections: create with the model's dimension and custom parameters, refuse bad ones, delete, duplicates."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.ingest.api.helpers import create, gated, ingested, running, scan, settings_for, until
from tests.samples import distinct_image


async def test_collection_defaults_to_the_model_dimension_and_remembers_the_model(api):
    info = await create(api, distance="Dot", on_disk=True, hnsw={"m": 8, "ef_construct": 64}, quantization="int8")
    assert info["params"]["vector_size"] == 64
    assert info["params"]["distance"] == "Dot"
    assert info["params"]["metadata"]["backend"] == "tiny"
    assert info["params"]["metadata"]["embedding_model"] == "tiny-random-clip"
    assert isinstance(info["ignored_params"], list)
    listed = (await api.get("/api/v1/collections")).json()["collections"]
    assert [(c["name"], c["points_count"]) for c in listed] == [("photos", 0)]
    assert (await api.get("/api/v1/collections/photos")).json()["params"]["hnsw_m"] == 8


@pytest.mark.parametrize(
    "body, code",
    [
        ({"name": "../etc"}, "VALIDATION_ERROR"),
        ({"name": ""}, "VALIDATION_ERROR"),
        ({"name": "x" * 65}, "VALIDATION_ERROR"),
        ({"name": "ok", "vector_size": 512}, "MODEL_MISMATCH"),
        ({"name": "ok", "distance": "Hamming"}, "VALIDATION_ERROR"),
        ({"name": "ok", "hnsw": {"m": -1}}, "VALIDATION_ERROR"),
        ({"name": "ok", "quantization": "binary"}, "VALIDATION_ERROR"),
        ({"name": "ok", "surprise": 1}, "VALIDATION_ERROR"),
    ],
)
async def test_bad_collection_parameters_are_refused_clearly(api, body, code):
    response = await api.post("/api/v1/collections", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]


async def test_duplicate_and_unknown_collections(api):
    await create(api)
    assert (await api.post("/api/v1/collections", json={"name": "photos"})).status_code == 409
    assert (await api.get("/api/v1/collections/nope")).status_code == 404
    assert (await api.delete("/api/v1/collections/nope")).status_code == 404
    assert (await api.delete("/api/v1/collections/photos")).status_code == 204
    assert (await api.get("/api/v1/collections")).json()["collections"] == []


async def test_deleting_a_collection_drops_its_jobs_and_thumbnails(api, library, tmp_path):
    (library / "a.jpg").write_bytes(distinct_image(1))
    await create(api)
    job = await ingested(api, library)
    point = (await api.post("/api/v1/search", json={"collection": "photos", "text": "x"})).json()["results"][0]
    assert (await api.get(point["thumbnail_url"])).status_code == 200
    assert (tmp_path / "data" / "thumbnails" / "photos").is_dir()
    assert (await api.delete("/api/v1/collections/photos")).status_code == 204
    assert (await api.get(f"/api/v1/jobs/{job['job_id']}")).status_code == 404
    assert not (tmp_path / "data" / "thumbnails" / "photos").exists()


async def test_exact_duplicates_are_grouped(api, library):
    (library / "a").mkdir()
    for name in ("a/1.jpg", "a/2.jpg", "3.jpg"):
        (library / name).write_bytes(distinct_image(5))
    (library / "unique.jpg").write_bytes(distinct_image(6))
    await create(api)
    await ingested(api, library)
    groups = (await api.get("/api/v1/collections/photos/duplicates")).json()["groups"]
    assert len(groups) == 1 and groups[0]["count"] == 3
    assert sorted(Path(p["path"]).name for p in groups[0]["points"]) == ["1.jpg", "2.jpg", "3.jpg"]
    assert all(p["thumbnail_url"].endswith("/thumbnail") for p in groups[0]["points"])


async def test_facets_count_formats(api, library):
    for index in range(3):
        (library / f"{index}.jpg").write_bytes(distinct_image(index))
    (library / "x.png").write_bytes(distinct_image(9, fmt="PNG"))
    await create(api)
    await ingested(api, library)
    facets = (await api.get("/api/v1/collections/photos/facets")).json()
    assert {f["value"]: f["count"] for f in facets["format"]} == {"jpeg": 3, "png": 1}
    assert {f["value"]: f["count"] for f in facets["folder"]} == {str(library): 4}


async def test_deleting_a_collection_waits_for_its_running_job(loaded_ml_app, tmp_path, library):
    """Re-creating the name right after a delete must not receive the old job's batch in flight (ghost points)."""
    for index in range(4):
        (library / f"{index}.jpg").write_bytes(distinct_image(index))
    gate, entered = asyncio.Event(), asyncio.Event()
    ml = gated(loaded_ml_app, "/api/v1/embed_images", gate, entered)
    async with running(settings_for(tmp_path, library), ml) as (app, api):
        services = app.state.services
        await create(api)
        running_job = await scan(api, library)
        queued_job = await scan(api, library)
        await asyncio.wait_for(entered.wait(), 30)  # a batch is in flight
        run = services.runner.current
        deleting = asyncio.create_task(api.delete("/api/v1/collections/photos"))
        await until(lambda: run.cancel_requested, what="the delete cancelled the job")
        gate.set()  # the ML service answers: the batch in flight would now be written
        assert (await deleting).status_code == 204
        assert services.runner.current is None  # the job stopped before its collection went
        await create(api)
        await services.runner.join()
        assert services.vectors.collection_info("photos").points_count == 0
        for job_id in (running_job, queued_job):
            assert (await api.get(f"/api/v1/jobs/{job_id}")).status_code == 404
