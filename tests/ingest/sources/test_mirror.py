"""The job store's mirror of the stored files (`jobdb.indexed`) that a sync reads instead of scrolling the vector
store: cleared or stale, a sync still ends with exactly the files on disk, never a duplicate, and no ML request
for a file that is already stored."""

from __future__ import annotations

from pathlib import Path

import httpx

from sightline.ingest.jobdb.indexed import IndexedFiles
from sightline.ingest.pipeline import point_id_for
from sightline.ingest.services import Services
from tests.ingest.api.helpers import all_points, finished
from tests.ingest.sources.helpers import EMBED_PATH, add_source, shows, source_app
from tests.samples import distinct_image


def library_of(folder: Path, count: int) -> set[Path]:
    for index in range(count):
        (folder / f"{index}.jpg").write_bytes(distinct_image(index))
    return {folder / f"{index}.jpg" for index in range(count)}


async def sync(api: httpx.AsyncClient, source: dict) -> dict:
    response = await api.post(f"/api/v1/collections/photos/sources/{source['source_id']}/sync")
    assert response.status_code == 202, response.text
    return await finished(api, response.json()["job_id"])


def execute(services: Services, sql: str, *params: object) -> None:
    with services.jobdb.writing() as conn:
        conn.execute(sql, params)


def mirrored(services: Services, folder: Path) -> dict[str, tuple[int, int]]:
    return IndexedFiles(services.jobdb).stats("photos", str(folder))


def no_duplicates(services: Services) -> bool:
    paths = [point.payload["path"] for point in all_points(services, "photos")]
    return len(paths) == len(set(paths))


async def test_a_cleared_mirror_is_rebuilt_from_the_store(loaded_ml_app, tmp_path: Path, library: Path) -> None:
    files = library_of(library, 3)
    async with source_app(loaded_ml_app, tmp_path, library) as (services, api, ml):
        source = await add_source(api, library, watch=False)
        await shows(services, files)
        embeds = ml.requests[EMBED_PATH]
        execute(services, "DELETE FROM indexed_files")

        job = await sync(api, source)
        assert (job["counts"]["skipped"], ml.requests[EMBED_PATH]) == (3, embeds)
        assert set(mirrored(services, library)) == {str(path) for path in files}
        await shows(services, files)
        assert no_duplicates(services)


async def test_a_stale_row_is_checked_against_the_store_not_embedded(
        loaded_ml_app, tmp_path: Path, library: Path) -> None:
    files = library_of(library, 3)
    a = library / "0.jpg"
    async with source_app(loaded_ml_app, tmp_path, library) as (services, api, ml):
        source = await add_source(api, library, watch=False)
        await shows(services, files)
        embeds = ml.requests[EMBED_PATH]
        execute(services, "UPDATE indexed_files SET mtime_ns = 1 WHERE path = ?", str(a))

        job = await sync(api, source)
        assert (job["counts"]["skipped"], ml.requests[EMBED_PATH]) == (3, embeds)
        assert mirrored(services, library)[str(a)] == (a.stat().st_size, a.stat().st_mtime_ns)


async def test_a_point_removed_behind_the_mirrors_back_comes_back(loaded_ml_app, tmp_path: Path, library: Path) -> None:
    files = library_of(library, 3)
    a = library / "0.jpg"
    async with source_app(loaded_ml_app, tmp_path, library) as (services, api, _):
        source = await add_source(api, library, watch=False)
        await shows(services, files)
        services.vectors.delete_points("photos", [point_id_for("photos", str(a))])  # counts now disagree

        assert (await sync(api, source))["counts"]["done"] == 1
        await shows(services, files)
        assert no_duplicates(services)


async def test_counts_that_agree_by_chance_converge_on_the_next_sync(
        loaded_ml_app, tmp_path: Path, library: Path) -> None:
    files = library_of(library, 3)
    a, b = library / "0.jpg", library / "1.jpg"
    async with source_app(loaded_ml_app, tmp_path, library) as (services, api, _):
        source = await add_source(api, library, watch=False)
        await shows(services, files)
        services.vectors.delete_points("photos", [point_id_for("photos", str(a))])
        execute(services, "DELETE FROM indexed_files WHERE path = ?", str(b))  # two wrongs: the counts agree

        first = await sync(api, source)
        assert (first["counts"]["skipped"], first["counts"]["done"]) == (3, 0)  # b checked against the store
        second = await sync(api, source)
        assert second["counts"]["done"] == 1  # the mirror now disagrees with the store: rebuilt, a re-embedded
        await shows(services, files)
        assert no_duplicates(services)
