"""Copies follow their originals: a collection made from a selection of a followed folder's photos moves, updates
and drops its copies as the folder's own collection syncs a move, a change and a deletion."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from sightline.ingest.pipeline import point_id_for
from tests.ingest.api.helpers import all_points, finished
from tests.ingest.sources.helpers import EMBED_PATH, add_source, shows, source_app
from tests.samples import distinct_image


async def completed(api, task_id: str) -> dict:
    while (task := (await api.get(f"/api/v1/review/tasks/{task_id}")).json())["state"] == "running":
        await asyncio.sleep(0.01)
    return task


def by_path(services, collection: str) -> dict[str, object]:
    return {point.payload["path"]: point for point in all_points(services, collection)}


async def sync_now(api, source: dict) -> dict:
    answer = await api.post(f"/api/v1/collections/photos/sources/{source['source_id']}/sync")
    assert answer.status_code == 202, answer.text
    return await finished(api, answer.json()["job_id"])


async def test_a_selection_follows_moves_changes_and_deletions(loaded_ml_app, tmp_path: Path, library: Path) -> None:
    files = {name: library / f"{name}.jpg" for name in ("moved", "changed", "deleted", "left")}
    for index, path in enumerate(files.values()):
        path.write_bytes(distinct_image(index))
    async with source_app(loaded_ml_app, tmp_path, library, source_settle_seconds=60.0) as (services, api, ml):
        source = await add_source(api, library, watch=False, rescan_minutes=0)
        await shows(services, set(files.values()))
        picked = [point_id_for("photos", str(files[name])) for name in ("moved", "changed", "deleted")]
        made = await api.post("/api/v1/collections", json={
            "name": "picked", "from_points": {"collection": "photos", "point_ids": picked}})
        assert made.status_code == 202, made.text
        assert (await completed(api, made.json()["task"]["task_id"]))["state"] == "completed"

        shutil.move(files["moved"], library / "moved-here.jpg")
        files["changed"].write_bytes(distinct_image(9))
        files["deleted"].unlink()
        embeds = ml.requests[EMBED_PATH]
        job = await sync_now(api, source)

        assert job["state"] == "completed", job
        assert ml.requests[EMBED_PATH] == embeds + 1  # the changed file, once, for both collections
        followed, copies = by_path(services, "photos"), by_path(services, "picked")
        assert set(copies) == {str(library / "moved-here.jpg"), str(files["changed"])}
        changed = str(files["changed"])
        assert copies[changed].payload["sha256"] == followed[changed].payload["sha256"]
        assert copies[changed].payload["collection"] == "picked"
        lines = (await api.get(f"/api/v1/jobs/{job['job_id']}/logs")).json()["logs"]
        assert "copies in picked: 1 moved, 1 removed, 1 updated" in [line["message"] for line in lines]


async def test_an_unchanged_sync_leaves_copies_alone(loaded_ml_app, tmp_path: Path, library: Path) -> None:
    path = library / "kept.jpg"
    path.write_bytes(distinct_image(1))
    async with source_app(loaded_ml_app, tmp_path, library, source_settle_seconds=60.0) as (services, api, _):
        source = await add_source(api, library, watch=False, rescan_minutes=0)
        await shows(services, {path})
        made = await api.post("/api/v1/collections", json={
            "name": "picked", "from_points": {"collection": "photos", "point_ids": [point_id_for("photos", str(path))]}})
        assert (await completed(api, made.json()["task"]["task_id"]))["state"] == "completed"
        job = await sync_now(api, source)
        lines = (await api.get(f"/api/v1/jobs/{job['job_id']}/logs")).json()["logs"]
        assert not [line for line in lines if line["message"].startswith("copies in")]
        assert set(by_path(services, "picked")) == {str(path)}
