"""A merge takes the merged collection's folders along: the target follows them too, the photos a person removed
from them stay out, and the target's first sync of them embeds nothing that was merged."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sightline.ingest.pipeline import point_id_for
from tests.ingest.api.helpers import create, finished, until
from tests.ingest.sources.helpers import EMBED_PATH, add_source, paths, shows, source_app
from tests.samples import distinct_image


async def completed(api, task_id: str) -> dict:
    while (task := (await api.get(f"/api/v1/review/tasks/{task_id}")).json())["state"] not in ("completed", "failed"):
        await asyncio.sleep(0.01)
    return task


async def test_the_target_of_a_merge_follows_the_merged_folders(loaded_ml_app, tmp_path: Path,
                                                                  library: Path) -> None:
    files = [library / f"{name}.jpg" for name in "abc"]
    for index, path in enumerate(files):
        path.write_bytes(distinct_image(index))
    async with source_app(loaded_ml_app, tmp_path, library, source_settle_seconds=60.0) as (services, api, ml):
        await add_source(api, library, watch=False, exclude=["*.tmp"], rescan_minutes=0)
        await shows(services, set(files))
        removed = await api.delete(f"/api/v1/collections/photos/points/{point_id_for('photos', str(files[0]))}")
        assert removed.status_code == 204
        await create(api, "other")
        embeds = ml.requests[EMBED_PATH]

        task = (await api.post("/api/v1/collections/photos/merge", json={"into": "other"})).json()["task"]
        assert (await completed(api, task["task_id"]))["result"]["sources"] == [str(library)]
        await until(lambda: services.jobdb.list_jobs(collection="other"), what="the target's first sync")

        sources = (await api.get("/api/v1/collections/other/sources")).json()["sources"]
        assert [(s["path"], s["watch"], s["exclude"], s["rescan_minutes"]) for s in sources] == [
            (str(library), False, ["*.tmp"], 0)]
        sync = await finished(api, services.jobdb.list_jobs(collection="other")[0].job_id)
        assert (sync["counts"]["done"], ml.requests[EMBED_PATH]) == (0, embeds)
        assert paths(services, "other") == {str(files[1]), str(files[2])}
        assert sources[0]["removed_by_user"] == 1
