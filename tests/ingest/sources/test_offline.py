"""A source's folder that goes away is offline, its points kept; it comes back by itself. Excludes are
honoured, a file still being written is read once it is complete."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from tests.ingest.api.helpers import until
from tests.ingest.sources.helpers import EMBED_PATH, add_source, last_sync, paths, shows, source_app
from tests.samples import camera_like_jpeg, distinct_image


async def state_of(api, source: dict) -> str:
    answer = await api.get(f"/api/v1/collections/photos/sources/{source['source_id']}")
    return answer.json()["state"]


async def until_state(api, source: dict, state: str) -> None:
    async def poll() -> None:
        while await state_of(api, source) != state:
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), timeout=30)


async def test_a_folder_renamed_away_is_offline_and_comes_back_with_no_point_lost(
        loaded_ml_app, tmp_path: Path, library: Path) -> None:
    folder = library / "photos"
    folder.mkdir()
    files = {folder / f"{index}.jpg" for index in range(3)}
    for index, path in enumerate(sorted(files)):
        path.write_bytes(distinct_image(index))
    async with source_app(loaded_ml_app, tmp_path, library) as (services, api, _):
        source = await add_source(api, folder)
        await shows(services, files)
        os.rename(folder, library / "away")
        await until_state(api, source, "offline")
        assert paths(services) == {str(path) for path in files}
        os.rename(library / "away", folder)
        await until_state(api, source, "watching")
        await shows(services, files)
        sync = await last_sync(api, source)
        assert (sync["options"]["reason"], sync["counts"]["skipped"], sync["counts"]["removed"]) == (
            "back online", 3, 0)


async def test_an_emptied_folder_is_offline_not_deleted(loaded_ml_app, tmp_path: Path, library: Path) -> None:
    """An unmounted drive leaves an empty mount point: the images are kept."""
    (library / "a.jpg").write_bytes(distinct_image(0))
    async with source_app(loaded_ml_app, tmp_path, library) as (services, api, _):
        source = await add_source(api, library, watch=False)
        await shows(services, {library / "a.jpg"})
        os.rename(library / "a.jpg", tmp_path / "a.jpg")
        job = (await api.post(f"/api/v1/collections/photos/sources/{source['source_id']}/sync")).json()
        await until_state(api, source, "offline")
        assert (await api.get(f"/api/v1/jobs/{job['job_id']}")).json()["error"]["code"] == "SOURCE_OFFLINE"
        assert paths(services) == {str(library / "a.jpg")}


async def test_excludes_are_honoured_and_an_edit_applies_them(loaded_ml_app, tmp_path: Path, library: Path) -> None:
    kept, thumb, private = library / "a.jpg", library / "x" / "@eaDir" / "a.jpg", library / "private" / "p.jpg"
    for index, path in enumerate((kept, thumb, private)):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(distinct_image(index))
    async with source_app(loaded_ml_app, tmp_path, library) as (services, api, _):
        source = await add_source(api, library, exclude=["@eaDir", "/private/*"])
        await shows(services, {kept})
        url = f"/api/v1/collections/photos/sources/{source['source_id']}"
        assert (await api.patch(url, json={"exclude": ["@eaDir"]})).status_code == 200
        await shows(services, {kept, private})
        assert (await api.patch(url, json={"exclude": ["@eaDir", "private"]})).status_code == 200
        await shows(services, {kept})
        assert (await last_sync(api, source))["counts"]["removed"] == 1


async def test_a_slowly_written_file_is_ingested_once_complete(loaded_ml_app, tmp_path: Path, library: Path) -> None:
    data = camera_like_jpeg(1600, 1200, seed=5)
    target = library / "big.jpg"
    async with source_app(loaded_ml_app, tmp_path, library, source_settle_seconds=1.0) as (services, api, ml):
        source = await add_source(api, library)
        await until(lambda: not services.jobdb.list_jobs(states=("queued", "running")), what="first sync")
        with open(target, "wb") as out:
            for start in range(0, len(data), len(data) // 20):
                out.write(data[start:start + len(data) // 20])
                out.flush()
                await asyncio.sleep(0.05)  # the writer's pace (a slow copy), well under the settle time
        await shows(services, {target})
        assert ml.requests[EMBED_PATH] == 1
        sync = await last_sync(api, source)
        assert (sync["counts"]["done"], sync["counts"]["failed"]) == (1, 0)
        stored = services.vectors.scroll("photos", limit=1)[0][0].payload
        assert stored["bytes"] == len(data)
