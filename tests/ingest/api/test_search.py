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
    {"collection": "photos", "text": "x", "point_id": "1"},
    {"collection": "photos", "cursor": "not a cursor"},
    {"collection": "photos", "text": "x", "filters": {"taken_after": "2024-02-01", "taken_before": "2024-01-01"}},
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


async def test_text_results_are_pages_with_strong_matches_marked(api, library):
    for index in range(12):
        (library / f"{index}.png").write_bytes(distinct_image(index, fmt="PNG"))
    await create(api)
    await ingested(api, library)
    first = (await api.post("/api/v1/search", json={"collection": "photos", "text": "stripes", "limit": 5})).json()
    assert (first["mode"], first["collection_empty"], len(first["results"])) == ("text", False, 5)
    assert isinstance(first["understood"], list)
    hit = first["results"][0]
    assert hit["similarity"] is not None and hit["weak"] is False and isinstance(hit["matched"], list)
    weak = [r["weak"] for r in first["results"]]
    assert weak == sorted(weak)  # the strong ones first, then the weaker ones

    seen = [r["id"] for r in first["results"]]
    cursor = first["next_cursor"]
    while cursor:
        page = (await api.post("/api/v1/search", json={"collection": "photos", "text": "stripes", "limit": 5,
                                                        "cursor": cursor})).json()
        seen += [r["id"] for r in page["results"]]
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen)) == 12


async def test_a_cursor_only_continues_its_own_kind_of_search(api, library):
    for index in range(3):
        (library / f"{index}.png").write_bytes(distinct_image(index, fmt="PNG"))
    await create(api)
    await ingested(api, library)
    text = (await api.post("/api/v1/search", json={"collection": "photos", "text": "x", "limit": 1})).json()
    listing = await api.post("/api/v1/search", json={"collection": "photos", "cursor": text["next_cursor"]})
    assert listing.status_code == 422
    assert (listing.json()["error"]["code"], listing.json()["error"]["where"]) == ("VALIDATION_ERROR", "cursor")


async def test_a_reversed_date_range_says_which_way_round(api):
    await create(api)
    response = await api.post("/api/v1/search", json={"collection": "photos", "filters": {
        "taken_after": "2024-02-01T00:00:00Z", "taken_before": "2024-01-01T00:00:00Z"}})
    assert response.status_code == 422
    assert response.json()["error"]["where"] == "filters"
    assert "taken_after is later than taken_before" in response.json()["error"]["message"]
    image = await api.post("/api/v1/search/image", files={"image": ("q.jpg", distinct_image(1), "image/jpeg")},
                           data={"collection": "photos", "filters": '{"taken_after": "2024-02-01", '
                                                                     '"taken_before": "2024-01-01"}'})
    assert image.status_code == 422 and "later than" in image.json()["error"]["message"]


async def test_searching_an_empty_collection_says_it_is_empty(api):
    await create(api)
    for body in ({"text": "a cat"}, {}):
        answer = (await api.post("/api/v1/search", json={"collection": "photos", **body})).json()
        assert (answer["results"], answer["next_cursor"], answer["collection_empty"]) == ([], None, True)
