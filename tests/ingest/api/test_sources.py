"""The sources API in-process: add (first sync at once), list, read, edit, sync now, remove with or without its
images, and every refusal as a structured error."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ingest.api.helpers import create, finished
from tests.ingest.sources.helpers import add_source, paths, shows, source_app
from tests.samples import distinct_image

URL = "/api/v1/collections/photos/sources"


@pytest.fixture()
async def app(loaded_ml_app, tmp_path: Path, library: Path):
    for index in range(2):
        (library / "a" / f"{index}.jpg").parent.mkdir(exist_ok=True)
        (library / "a" / f"{index}.jpg").write_bytes(distinct_image(index))
    async with source_app(loaded_ml_app, tmp_path, library) as running:
        yield running


async def test_added_source_answers_its_fields_and_its_first_sync(app, library: Path) -> None:
    services, api, _ = app
    source = await add_source(api, library / "a", watch=False, exclude=["*.tmp"], rescan_minutes=5)
    assert {key: source[key] for key in ("path", "watch", "exclude", "rescan_minutes", "collection")} == {
        "path": str(library / "a"), "watch": False, "exclude": ["*.tmp"], "rescan_minutes": 5,
        "collection": "photos"}
    job = await finished(api, source["job_id"])
    assert (job["kind"], job["state"], job["counts"]["done"]) == ("sync", "completed", 2)
    listed = (await api.get(URL)).json()["sources"]
    assert [(item["source_id"], item["state"], item["images"]) for item in listed] == [
        (source["source_id"], "idle", 2)]
    assert listed[0]["last_sync_at"] is not None and listed[0]["last_sync"]["job_id"] == job["job_id"]


async def test_edit_changes_only_what_is_given(app, library: Path) -> None:
    _, api, _ = app
    source = await add_source(api, library / "a", watch=False)
    edited = await api.patch(f"{URL}/{source['source_id']}", json={"rescan_minutes": 0})
    assert (edited.json()["rescan_minutes"], edited.json()["watch"]) == (0, False)


async def test_sync_now_answers_a_job(app, library: Path) -> None:
    _, api, _ = app
    source = await add_source(api, library / "a", watch=False)
    await finished(api, source["job_id"])
    answer = await api.post(f"{URL}/{source['source_id']}/sync")
    assert answer.status_code == 202
    job = await finished(api, answer.json()["job_id"])
    assert (job["counts"]["skipped"], job["counts"]["done"]) == (2, 0)


@pytest.mark.parametrize("remove_points, left", [("false", 2), ("true", 0)])
async def test_remove_keeps_or_removes_its_images(app, library: Path, remove_points: str, left: int) -> None:
    services, api, _ = app
    source = await add_source(api, library / "a", watch=False)
    await shows(services, {library / "a" / "0.jpg", library / "a" / "1.jpg"})
    answer = await api.delete(f"{URL}/{source['source_id']}", params={"remove_points": remove_points})
    assert answer.status_code == 204
    assert len(paths(services)) == left
    assert (await api.get(f"{URL}/{source['source_id']}")).status_code == 404


@pytest.mark.parametrize("body, status, code", [
    ({"path": "/etc"}, 403, "FORBIDDEN"),
    ({"path": "{library}/missing"}, 404, "NOT_FOUND"),
    ({"path": "{library}/a", "rescan_minutes": -1}, 422, "VALIDATION_ERROR"),
    ({"path": "{library}/a", "exclude": [""]}, 422, "VALIDATION_ERROR"),
    ({"path": "{library}/a", "colour": "red"}, 422, "VALIDATION_ERROR"),
])
async def test_bad_sources_are_refused(app, library: Path, body: dict, status: int, code: str) -> None:
    _, api, _ = app
    body = {key: value.format(library=library) if isinstance(value, str) else value for key, value in body.items()}
    answer = await api.post(URL, json=body)
    assert (answer.status_code, answer.json()["error"]["code"]) == (status, code)


async def test_an_overlapping_source_is_a_conflict(app, library: Path) -> None:
    _, api, _ = app
    await add_source(api, library / "a", watch=False)
    answer = await api.post(URL, json={"path": str(library)})
    assert (answer.status_code, answer.json()["error"]["code"]) == (409, "CONFLICT")


async def test_unknown_collection_and_source_are_404(app) -> None:
    _, api, _ = app
    assert (await api.get("/api/v1/collections/nope/sources")).status_code == 404
    assert (await api.post(f"{URL}/nope/sync")).json()["error"]["code"] == "NOT_FOUND"


async def test_delete_one_image_by_id_with_its_collection(app, library: Path) -> None:
    services, api, _ = app
    source = await add_source(api, library / "a", watch=False)
    await finished(api, source["job_id"])
    point = services.vectors.scroll("photos", limit=1)[0][0]
    assert (await api.delete(f"/api/v1/images/{point.id}", params={"collection": "photos"})).status_code == 204
    assert point.payload["path"] not in paths(services)
    again = await api.delete(f"/api/v1/images/{point.id}", params={"collection": "photos"})
    assert (again.status_code, again.json()["error"]["code"]) == (404, "NOT_FOUND")


async def test_deleting_a_collection_forgets_its_sources(app, library: Path) -> None:
    services, api, _ = app
    source = await add_source(api, library / "a", watch=True)
    await finished(api, source["job_id"])
    assert (await api.delete("/api/v1/collections/photos")).status_code == 204
    assert services.runner.sources._followers == {}
    await create(api)
    assert (await api.get(URL)).json()["sources"] == []


async def test_sources_of_a_deleted_collection_are_forgotten_at_their_next_sync(app, library: Path) -> None:
    services, api, _ = app
    source = await add_source(api, library / "a", watch=False)
    await finished(api, source["job_id"])
    assert (await api.delete("/api/v1/collections/photos")).status_code == 204
    answer = await api.post(f"{URL}/{source['source_id']}/sync")
    assert (answer.status_code, answer.json()["error"]["code"]) == (404, "NOT_FOUND")
    assert services.runner.sources.store.list() == []
