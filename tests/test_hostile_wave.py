"""A hostile client of this wave's API: collections from a selection, review tasks, the jobs listing's states,
sources' paths and long crafted search queries; each answer is a structured 4xx or a bounded 2xx, never a 5xx."""

from __future__ import annotations

import asyncio
import os
import time
import uuid

from tests.ingest.api.conftest import api, ingest_app, loaded_ml_app  # noqa: F401 - the in-process API's fixtures
from tests.ingest.api.helpers import create, ingested
from tests.samples import distinct_image

COLLECTIONS = "/api/v1/collections"


def from_points(name: str, ids: list[str], source: str = "photos") -> dict:
    return {"name": name, "from_points": {"collection": source, "point_ids": ids}}


def error_of(answer, status: int) -> dict:
    assert answer.status_code == status, answer.text
    assert "Traceback" not in answer.text
    return answer.json()["error"]


async def photos(api, library, count: int = 3) -> list[str]:
    for index in range(count):
        (library / f"{index}.png").write_bytes(distinct_image(index, fmt="PNG"))
    await create(api)
    await ingested(api, library)
    answer = await api.post("/api/v1/search", json={"collection": "photos", "limit": 50})
    return [hit["id"] for hit in answer.json()["results"]]


async def test_a_selection_of_another_collection_makes_nothing(api, library):
    ids = await photos(api, library)
    await create(api, "other")
    error = error_of(await api.post(COLLECTIONS, json=from_points("stolen", ids, source="other")), 422)
    assert error["where"] == "from_points.point_ids"
    assert (await api.get(f"{COLLECTIONS}/stolen")).status_code == 404


async def test_a_selection_into_an_existing_collection_is_a_conflict(api, library):
    ids = await photos(api, library)
    error_of(await api.post(COLLECTIONS, json=from_points("photos", ids)), 409)
    assert len((await api.get(f"{COLLECTIONS}/photos")).json()) > 0


async def test_hostile_selections_are_refused_before_anything_is_made(api, library):
    ids = await photos(api, library)
    for bad in ([], ["not-a-uuid"], [str(uuid.uuid4())], ids + ["../../etc"], [{"x": 1}]):
        answer = await api.post(COLLECTIONS, json=from_points("picked", bad))
        assert answer.status_code == 422, (bad, answer.text)
    error_of(await api.post(COLLECTIONS, json=from_points("x" * 65, ids)), 422)
    error_of(await api.post(COLLECTIONS, json=from_points("picked", ["0" * 10] * 100_001)), 422)
    assert (await api.get(f"{COLLECTIONS}/picked")).status_code == 404


async def test_a_name_at_the_length_limit_is_copied(api, library):
    ids = await photos(api, library)
    answer = await api.post(COLLECTIONS, json=from_points("x" * 64, ids * 50))
    assert answer.status_code == 202, answer.text
    assert answer.json()["task"]["result"]["copied"] == len(ids)


async def test_odd_task_ids_are_not_found(api):
    for task_id in ("x", "..%2F..%2Fetc", "%00", "a" * 5000, "%F0%9F%98%80", str(uuid.uuid4())):
        error = error_of(await api.get(f"/api/v1/review/tasks/{task_id}"), 404)
        assert error["code"] == "NOT_FOUND"


async def test_the_jobs_listing_refuses_unknown_states_and_bounds(api):
    many_unknown = "&".join(f"state=s{index}" for index in range(300))
    assert error_of(await api.get(f"/api/v1/jobs?{many_unknown}"), 422)["where"] == "state"
    many_known = "&".join(["state=queued", "state=running"] * 500)
    answer = await api.get(f"/api/v1/jobs?{many_known}")
    assert answer.status_code == 200 and answer.json() == {"jobs": []}
    for query in ("limit=0", "limit=501", "offset=-1", "limit=abc", "offset=99999999999999999999999"):
        assert (await api.get(f"/api/v1/jobs?{query}")).status_code == 422, query


async def test_a_source_outside_the_roots_is_refused(api, library, tmp_path):
    await create(api)
    outside = tmp_path / "outside"
    outside.mkdir()
    (library / "link").symlink_to(outside)
    for path in (str(outside), f"{library}/../outside", str(library / "link"), "/", "relative"):
        answer = await api.post(f"{COLLECTIONS}/photos/sources", json={"path": path})
        assert answer.status_code in (403, 404, 422), (path, answer.text)
    assert (await api.get(f"{COLLECTIONS}/photos/sources")).json() == {"sources": []}


async def test_another_collections_source_is_not_found(api, library):
    await create(api)
    await create(api, "other")
    (library / "a").mkdir()
    answer = await api.post(f"{COLLECTIONS}/photos/sources", json={"path": str(library / "a")})
    assert answer.status_code == 201, answer.text
    source_id = answer.json()["source_id"]
    error_of(await api.get(f"{COLLECTIONS}/other/sources/{source_id}"), 404)
    error_of(await api.get(f"{COLLECTIONS}/other/sources/..%2F{source_id}"), 404)


CRAFTED = ["1." * 1000, "a.b" * 666 + "c", "_" * 2000, "9" * 2000, "x.jpg " * 333, "IMG_" * 500,
           ". " * 1000, "a_" * 1000, ("é." * 1000)]


async def test_crafted_long_queries_cost_little(api, library):
    await photos(api, library)
    worst = 0.0
    for text in CRAFTED:
        started = time.process_time()
        answer = await api.post("/api/v1/search", json={"collection": "photos", "text": text[:2000]})
        worst = max(worst, time.process_time() - started)
        assert answer.status_code == 200, (text[:20], answer.text)
    print(f"worst crafted query: {worst * 1000:.0f} ms CPU, load {os.getloadavg()[0]:.2f}")
    assert worst < 2.0


async def test_odd_point_ids_and_cursors_are_refused(api, library):
    await photos(api, library)
    for extra in ({"point_id": "nope"}, {"point_id": str(uuid.uuid4())}, {"cursor": "!!!"},
                  {"cursor": "eyJ4IjoxfQ"}, {"point_id": "0" * 5000}):
        answer = await api.post("/api/v1/search", json={"collection": "photos", **extra})
        assert 400 <= answer.status_code < 500, (extra, answer.text)
        assert "Traceback" not in answer.text


async def test_two_racing_copies_of_one_name_make_one_collection(api, library):
    ids = await photos(api, library)
    answers = await asyncio.gather(*(api.post(COLLECTIONS, json=from_points("picked", ids)) for _ in range(4)))
    assert sorted(answer.status_code for answer in answers) == [202, 409, 409, 409], [a.text for a in answers]
    assert (await api.get(f"{COLLECTIONS}/picked")).json()["points_count"] == len(ids)
