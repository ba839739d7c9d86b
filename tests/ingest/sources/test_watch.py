"""A watched folder on the real file system, followed by the real watcher: add, modify, delete, rename and move
(file and folder); after each step the collection holds exactly the files on disk, and moves cost no embedding."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sightline.ingest.pipeline import point_id_for
from tests.ingest.api.helpers import until
from tests.ingest.sources.helpers import EMBED_PATH, add_source, last_sync, shows, source_app
from tests.samples import distinct_image


def write(path: Path, index: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(distinct_image(index))
    return path


@pytest.mark.parametrize("polling", [False, True], ids=["inotify", "polling"])
async def test_the_collection_follows_the_folder(loaded_ml_app, tmp_path: Path, library: Path, polling: bool) -> None:
    a, b = write(library / "a.jpg", 0), write(library / "trip" / "b.jpg", 1)
    async with source_app(loaded_ml_app, tmp_path, library, source_force_polling=polling) as (services, api, ml):
        source = await add_source(api, library)
        await shows(services, {a, b})
        assert (await last_sync(api, source))["counts"]["done"] == 2

        c = write(library / "c.jpg", 2)  # added
        await shows(services, {a, b, c})

        before = services.vectors.retrieve("photos", [point_id_for("photos", str(a))])[0].payload["sha256"]
        write(a, 3)  # modified: re-embedded in place; a minute on, as polling sees only whole seconds
        os.utime(a, (a.stat().st_mtime + 60, a.stat().st_mtime + 60))
        await until_changed(services, a, before)

        c.unlink()  # deleted
        await shows(services, {a, b})
        assert not list((services.settings.data_dir / "thumbnails").glob(f"**/{point_id_for('photos', str(c))}*"))

        embeds = ml.requests[EMBED_PATH]
        renamed = library / "renamed.jpg"
        os.rename(a, renamed)  # renamed: the point follows, no embedding
        await shows(services, {renamed, b})
        moved = library / "2024" / "trip"
        moved.parent.mkdir()
        os.rename(library / "trip", moved)  # a folder moved
        await shows(services, {renamed, moved / "b.jpg"})
        assert ml.requests[EMBED_PATH] == embeds
        assert (await last_sync(api, source))["counts"]["moved"] == 1


async def until_changed(services, path: Path, sha256: str) -> None:
    point_id = point_id_for("photos", str(path))

    def changed() -> bool:
        points = services.vectors.retrieve("photos", [point_id])
        return bool(points) and points[0].payload["sha256"] != sha256

    await until(changed, timeout=90, what=f"{path} re-embedded")  # a loaded 2-core CI machine is slow
