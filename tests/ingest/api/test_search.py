"""Search by image, text and point, with filters and a threshold; bad queries; collections of another model."""

from __future__ import annotations

from pathlib import Path

import pytest

from sightline.ingest.vectors import CollectionParams
from tests.ingest.api.helpers import create, ingested, never_answering_url, running, settings_for
from tests.samples import distinct_image


async def search(api, **body) -> list[dict]:
    response = await api.post("/api/v1/search", json={"collection": "photos", **body})
    assert response.status_code == 200, response.text
    return response.json()["results"]


async def test_search_by_image_text_and_point(api, library):
    for index in range(8):
        (library / f"{index}.png").write_bytes(distinct_image(index, fmt="PNG"))
    await create(api)
    await ingested(api, library)

    query = distinct_image(5, fmt="JPEG")  # the same picture, re-encoded as JPEG
    response = await api.post("/api/v1/search/image", data={"collection": "photos", "limit": "3"},
                              files={"image": ("q.jpg", query, "image/jpeg")})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert len(results) == 3
    assert Path(results[0]["payload"]["path"]).name == "5.png"
    assert results[0]["score"] > 0.95
    assert results[0]["thumbnail_url"].endswith("/thumbnail")

    text = await search(api, text="a red square", limit=4)
    assert len(text) == 4
    assert [hit["score"] for hit in text] == sorted((hit["score"] for hit in text), reverse=True)

    more = await search(api, point_id=results[0]["id"], limit=3)
    assert len(more) == 3
    assert results[0]["id"] not in [hit["id"] for hit in more]


async def test_search_filters_and_threshold(api, library):
    (library / "a").mkdir()
    (library / "b").mkdir()
    for index in range(3):
        (library / "a" / f"{index}.jpg").write_bytes(distinct_image(index))
        (library / "b" / f"{index}.png").write_bytes(distinct_image(index + 3, fmt="PNG"))
    await create(api)
    await ingested(api, library)
    in_a = await search(api, text="anything", limit=50, filters={"folder": str(library / "a")})
    assert sorted(Path(r["payload"]["path"]).relative_to(library).as_posix() for r in in_a) == [
        "a/0.jpg", "a/1.jpg", "a/2.jpg"]
    assert len(await search(api, text="anything", limit=50, filters={"format": "png"})) == 3
    assert len(await search(api, text="anything", limit=50, filters={"folder": str(library)})) == 6
    future = await search(api, text="anything", filters={"taken_after": "2100-01-01T00:00:00Z"})
    assert future == []

    same = (library / "b" / "1.png").read_bytes()  # the stored file itself: score 1, the others far below
    response = await api.post("/api/v1/search/image", data={"collection": "photos", "score_threshold": "0.9999"},
                              files={"image": ("q.png", same, "image/png")})
    assert [Path(hit["payload"]["path"]).name for hit in response.json()["results"]] == ["1.png"]


@pytest.mark.parametrize("body", [
    {"collection": "photos"},
    {"collection": "photos", "text": "x", "point_id": "1"},
    {"collection": "photos", "point_id": "not-a-uuid"},
    {"collection": "photos", "text": "x", "limit": 0},
    {"collection": "photos", "text": "x", "filters": {"taken_after": "yesterday"}},
])
async def test_bad_searches_get_structured_errors(api, body):
    await create(api)
    response = await api.post("/api/v1/search", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


async def test_image_search_with_bad_filters_or_a_corrupt_image_is_a_clear_422(api):
    await create(api)
    corrupt = await api.post("/api/v1/search/image", data={"collection": "photos"},
                             files={"image": ("q.jpg", b"\xff\xd8\xff garbage", "image/jpeg")})
    assert corrupt.status_code == 422
    assert corrupt.json()["error"]["code"] == "DECODE_FAILED"
    filters = await api.post("/api/v1/search/image", data={"collection": "photos", "filters": "{not json"},
                             files={"image": ("q.jpg", distinct_image(1), "image/jpeg")})
    assert filters.status_code == 422
    assert (filters.json()["error"]["code"], filters.json()["error"]["where"]) == ("VALIDATION_ERROR", "filters")


async def test_searching_a_collection_of_another_model_is_refused(api, services):
    services.vectors.create_collection("other", CollectionParams(
        vector_size=64, metadata={"backend": "clip", "embedding_model": "some-other-clip", "dimension": 64}))
    response = await api.post("/api/v1/search", json={"collection": "other", "text": "a cat"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "MODEL_MISMATCH"
    image = await api.post("/api/v1/search/image", data={"collection": "other"},
                           files={"image": ("q.jpg", distinct_image(1), "image/jpeg")})
    assert image.status_code == 409 and image.json()["error"]["code"] == "MODEL_MISMATCH"


async def test_searching_an_unknown_collection_is_404(api):
    response = await api.post("/api/v1/search", json={"collection": "nope", "text": "a cat"})
    assert response.status_code == 404 and response.json()["error"]["code"] == "NOT_FOUND"


async def test_a_stuck_ml_service_is_a_quick_ml_timeout(tmp_path, library):
    """The batch timeout stays long; a search and the status page give up after the interactive one."""
    with never_answering_url() as url:
        settings = settings_for(tmp_path, library, ml_url=url, ml_timeout=300, ml_interactive_timeout=0.3)
        async with running(settings, None) as (app, api):
            app.state.services.vectors.create_collection("photos", CollectionParams(vector_size=32))
            text = await api.post("/api/v1/search", json={"collection": "photos", "text": "a cat"}, timeout=60)
            image = await api.post("/api/v1/search/image", data={"collection": "photos"}, timeout=60,
                                   files={"image": ("q.jpg", distinct_image(1), "image/jpeg")})
            status = await api.get("/api/v1/status", timeout=60)
    for response in (text, image):
        assert response.status_code == 504, response.text
        assert response.json()["error"]["code"] == "ML_TIMEOUT"
    assert status.status_code == 200
    assert status.json()["ml"]["replicas"][0]["status"] == "unreachable"
