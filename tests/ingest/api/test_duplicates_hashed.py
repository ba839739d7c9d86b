"""The duplicates route over real files: the perceptual-hash check, hashes computed for older points through
the service's ingest roots, exact copies marked in a near group, and a collection made from a group."""

from __future__ import annotations

from tests.ingest.api.helpers import all_points, create
from tests.ingest.review.photo_sets import photo_set

DUPLICATES = "/api/v1/collections/photos/duplicates"


async def near_groups(api, ingest_app, **params) -> dict:
    first = await api.get(DUPLICATES, params={"kind": "near", **params})
    if first.status_code == 202:
        await ingest_app[0].state.review.tasks.join()
    answer = await api.get(DUPLICATES, params={"kind": "near", **params})
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_near_groups_are_hash_checked_and_mark_exact_copies(api, ingest_app, services, library):
    await create(api)
    ids = photo_set(services.vectors, library, hashed=False, create=False)  # older points: no phash yet
    body = await near_groups(api, ingest_app)
    assert body["threshold"] == 0.9
    [group] = body["groups"]
    assert group["point_ids"] == [ids["scene"], ids["scene-same"], ids["scene-burst"], ids["scene-small"]]
    assert (group["kind"], group["checked"], group["exact_of"]) == ("near", True, {ids["scene-same"]: ids["scene"]})
    assert [(p["exact_of"], p["hash_bits"]) for p in group["points"]] == [
        (None, None), (ids["scene"], 0), (None, 7), (None, 1)]
    assert all(p.payload.get("phash") for p in all_points(services, "photos"))  # stored for the next scan


async def test_a_group_becomes_a_collection(api, ingest_app, services, library):
    await create(api)
    photo_set(services.vectors, library, hashed=True, create=False)
    group = (await near_groups(api, ingest_app))["groups"][0]
    made = await api.post("/api/v1/collections", json={
        "name": "scene", "from_points": {"collection": "photos", "point_ids": group["point_ids"]}})
    assert made.status_code == 202, made.text
    await ingest_app[0].state.review.tasks.join()
    assert sorted(p.payload["path"] for p in all_points(services, "scene")) == sorted(
        p["path"] for p in group["points"])
