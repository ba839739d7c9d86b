"""A file a source's sync cannot read (a truncated JPEG) fails once: later syncs, asked for or the watcher's,
leave it out while it is unchanged and end "completed", with no ML request for it; the source counts and names
it, with the job whose errors name it. A changed file is read again, a fixed one is forgotten, so is a deleted
one; "Retry failed" on that job reads it again."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.ingest.api.helpers import finished
from tests.ingest.sources.helpers import EMBED_PATH, add_source, last_sync, shows, source_app
from tests.samples import distinct_image


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def truncated(index: int) -> bytes:
    data = distinct_image(index)
    return data[: len(data) // 2]


async def sync(api: httpx.AsyncClient, source: dict) -> dict:
    response = await api.post(f"/api/v1/collections/photos/sources/{source['source_id']}/sync")
    assert response.status_code == 202, response.text
    return await finished(api, response.json()["job_id"])


async def view(api: httpx.AsyncClient, source: dict) -> dict:
    return (await api.get(f"/api/v1/collections/photos/sources/{source['source_id']}")).json()


async def logs(api: httpx.AsyncClient, job: dict) -> str:
    return "\n".join(line["message"] for line in (await api.get(f"/api/v1/jobs/{job['job_id']}/logs")).json()["logs"])


async def test_a_broken_file_fails_once_then_is_left_out_until_it_changes(
        loaded_ml_app, tmp_path: Path, library: Path) -> None:
    good, bad = write(library / "good.jpg", distinct_image(0)), write(library / "bad.jpg", truncated(1))
    async with source_app(loaded_ml_app, tmp_path, library) as (services, api, ml):
        source = await add_source(api, library, watch=False)
        first = await last_sync(api, source)
        assert (first["state"], first["counts"]["failed"]) == ("completed_with_errors", 1)
        answer = await view(api, source)
        assert answer["unreadable"] == 1
        assert [(item["path"], item["job_id"], item["code"]) for item in answer["unreadable_files"]] == [
            (str(bad), first["job_id"], "DECODE_FAILED")]

        embeds = ml.requests[EMBED_PATH]
        again = await sync(api, source)
        assert (again["state"], again["counts"]["failed"], again["counts"]["skipped"]) == ("completed", 0, 2)
        assert ml.requests[EMBED_PATH] == embeds
        assert "1 file that could not be read before" in await logs(api, again)
        assert (await view(api, source))["unreadable_files"][0]["job_id"] == first["job_id"]

        write(bad, truncated(2))  # changed (another size): read again, fails again
        changed = await sync(api, source)
        assert (changed["state"], changed["counts"]["failed"]) == ("completed_with_errors", 1)
        assert (await view(api, source))["unreadable_files"][0]["job_id"] == changed["job_id"]

        write(bad, distinct_image(3))  # fixed: stored, forgotten
        fixed = await sync(api, source)
        assert (fixed["state"], fixed["counts"]["done"]) == ("completed", 1)
        await shows(services, {good, bad})
        assert (await view(api, source))["unreadable"] == 0


async def test_retrying_the_job_reads_it_again_and_a_deleted_file_is_forgotten(
        loaded_ml_app, tmp_path: Path, library: Path) -> None:
    write(library / "good.jpg", distinct_image(0))
    bad = write(library / "bad.jpg", truncated(1))
    async with source_app(loaded_ml_app, tmp_path, library) as (services, api, _):
        source = await add_source(api, library, watch=False)
        first = await last_sync(api, source)
        retried = await api.post(f"/api/v1/jobs/{first['job_id']}/retry")
        assert retried.status_code == 202 and retried.json()["retried"] == 1, retried.text
        assert (await finished(api, first["job_id"]))["counts"]["failed"] == 1
        assert (await view(api, source))["unreadable"] == 1

        bad.unlink()
        gone = await sync(api, source)
        assert (gone["state"], gone["counts"]["removed"]) == ("completed", 0)
        assert (await view(api, source))["unreadable"] == 0


async def test_the_watchers_sync_leaves_it_out_too(loaded_ml_app, tmp_path: Path, library: Path) -> None:
    good, bad = write(library / "good.jpg", distinct_image(0)), write(library / "bad.jpg", truncated(1))
    async with source_app(loaded_ml_app, tmp_path, library) as (services, api, _):
        source = await add_source(api, library)
        await shows(services, {good})
        new = write(library / "new.jpg", distinct_image(2))
        await shows(services, {good, new}, "after a file was added")
        watched = await last_sync(api, source)
        assert (watched["state"], watched["counts"]["failed"]) == ("completed", 0)
        assert (await view(api, source))["unreadable_files"][0]["path"] == str(bad)
