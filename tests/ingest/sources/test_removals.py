"""Remembered removals: a photo a person removed from the index stays out of its source's syncs (asked for, or
the watcher's) while its file is unchanged, with no ML request; a changed file, a scan job naming it, or
forgetting the source's removals brings it back."""

from __future__ import annotations

import os
from pathlib import Path

import httpx

from sightline.ingest.pipeline import point_id_for
from tests.ingest.api.helpers import finished, ingested
from tests.ingest.sources.helpers import EMBED_PATH, add_source, shows, source_app
from tests.samples import distinct_image


def write(path: Path, index: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(distinct_image(index))
    return path


async def remove(api: httpx.AsyncClient, path: Path) -> None:
    response = await api.delete(f"/api/v1/images/{point_id_for('photos', str(path))}", params={"collection": "photos"})
    assert response.status_code == 204, response.text


async def sync(api: httpx.AsyncClient, source: dict) -> dict:
    response = await api.post(f"/api/v1/collections/photos/sources/{source['source_id']}/sync")
    assert response.status_code == 202, response.text
    return await finished(api, response.json()["job_id"])


async def removed_by_user(api: httpx.AsyncClient, source: dict) -> int:
    return (await api.get(f"/api/v1/collections/photos/sources/{source['source_id']}")).json()["removed_by_user"]


async def removed_and_synced(api: httpx.AsyncClient, source: dict, path: Path) -> dict:
    await remove(api, path)
    return await sync(api, source)


async def test_a_removed_photo_stays_out_until_its_file_changes(loaded_ml_app, tmp_path: Path, library: Path) -> None:
    a, b = write(library / "a.jpg", 0), write(library / "b.jpg", 1)
    async with source_app(loaded_ml_app, tmp_path, library) as (services, api, ml):
        source = await add_source(api, library)
        await shows(services, {a, b})
        embeds = ml.requests[EMBED_PATH]

        job = await removed_and_synced(api, source, a)
        await shows(services, {b}, "after the removal and a sync")
        assert (job["state"], job["counts"]["done"], ml.requests[EMBED_PATH]) == ("completed", 0, embeds)
        assert await removed_by_user(api, source) == 1

        c = write(library / "c.jpg", 2)  # the watcher's sync: a full one, the removed file stays out
        await shows(services, {b, c}, "after the watcher's sync")
        assert ml.requests[EMBED_PATH] == embeds + 1

        os.utime(a, (a.stat().st_mtime + 60, a.stat().st_mtime + 60))  # touched: it comes back
        await shows(services, {a, b, c}, "after the removed file changed")
        assert await removed_by_user(api, source) == 0


async def test_a_scan_naming_the_folder_or_forgetting_removals_brings_it_back(
        loaded_ml_app, tmp_path: Path, library: Path) -> None:
    a, b = write(library / "a.jpg", 0), write(library / "b.jpg", 1)
    async with source_app(loaded_ml_app, tmp_path, library, source_settle_seconds=60.0) as (services, api, ml):
        source = await add_source(api, library, watch=False)
        await shows(services, {a, b})

        await removed_and_synced(api, source, a)
        await shows(services, {b}, "after the removal")
        assert (await ingested(api, library))["counts"]["done"] == 1  # a scan job naming the folder: re-added
        await shows(services, {a, b}, "after the scan job")
        assert await removed_by_user(api, source) == 0
        assert (await sync(api, source))["counts"]["skipped"] == 2

        await removed_and_synced(api, source, b)
        forgotten = await api.delete(f"/api/v1/collections/photos/sources/{source['source_id']}/removed")
        assert forgotten.status_code == 200 and forgotten.json()["forgotten"] == 1, forgotten.text
        assert (await finished(api, forgotten.json()["job_id"]))["counts"]["done"] == 1
        await shows(services, {a, b}, "after forgetting the removals")


async def test_a_deleted_file_is_removed_not_remembered(loaded_ml_app, tmp_path: Path, library: Path) -> None:
    a, b = write(library / "a.jpg", 0), write(library / "b.jpg", 1)
    async with source_app(loaded_ml_app, tmp_path, library) as (services, api, _):
        source = await add_source(api, library, watch=False)
        await shows(services, {a, b})
        a.unlink()
        assert (await sync(api, source))["counts"]["removed"] == 1
        write(a, 0)  # the same file back: ingested again (nobody removed it from the index)
        await sync(api, source)
        await shows(services, {a, b}, "after the file came back")
        assert await removed_by_user(api, source) == 0


async def test_every_removal_route_is_remembered(loaded_ml_app, tmp_path: Path, library: Path) -> None:
    a, b, c = (write(library / f"{name}.jpg", index) for index, name in enumerate("abc"))
    async with source_app(loaded_ml_app, tmp_path, library, source_settle_seconds=60.0) as (services, api, ml):
        source = await add_source(api, library, watch=False)
        await shows(services, {a, b, c})
        one = await api.delete(f"/api/v1/collections/photos/points/{point_id_for('photos', str(a))}")
        some = await api.post("/api/v1/images/delete", json={"collection": "photos",
                                                             "point_ids": [point_id_for("photos", str(b))]})
        assert (one.status_code, some.json()["deleted"]) == (204, 1)
        assert (await sync(api, source))["counts"]["done"] == 0
        await shows(services, {c}, "after the removals and a sync")
        assert await removed_by_user(api, source) == 2
