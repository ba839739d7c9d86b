"""A sync or a scan stopped mid-way (the service stopped while a batch waited at the ML service) and resumed at
the next start counts each file of its folder once: the files it stored before the stop are not counted again
as "unchanged", and its total and percent stay those of the stop until real progress moves them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI

from sightline.ingest.jobdb import Job
from sightline.ingest.services import Services
from sightline.ingest.sources.listing import FileStat, Listing
from sightline.ingest.sources.sync import plan
from tests.ingest.api.helpers import create, finished, running, scan, settings_for, until
from tests.ingest.sources.helpers import EMBED_PATH, FAST, add_source, paths, shows
from tests.samples import distinct_image

KEPT, NEW, BATCH = 4, 10, 2  # files stored before the job, files new to it, files per embed request
LET_THROUGH = 2  # the job's embed requests answered before the stop


class Gate:
    """The ML app with a door on embed requests: open until `close_after(n)`, then the (n+1)th and later ones
    wait (`held` set) until `opened` is set."""

    def __init__(self, app: FastAPI, opened: bool = True):
        self.app, self.left = app, None if opened else 0
        self.opened, self.held = asyncio.Event(), asyncio.Event()

    def close_after(self, requests: int) -> None:
        self.left = requests

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["path"] == EMBED_PATH and self.left is not None:
            if self.left > 0:
                self.left -= 1
            else:
                self.held.set()
                await self.opened.wait()
        await self.app(scope, receive, send)


@asynccontextmanager
async def service(gate: Gate, tmp_path: Path, library: Path) -> AsyncIterator[tuple[Services, httpx.AsyncClient]]:
    """The ingestion app in-process on `tmp_path`'s data directory; leaving it stops the service (its runner
    stopped mid-job, as `up` does on SIGINT)."""
    settings = settings_for(tmp_path, library, **FAST, ml_batch_size=BATCH)
    async with running(settings, gate) as (app, api):  # type: ignore[arg-type]
        yield app.state.services, api


def photos(folder: Path, first: int, count: int) -> list[Path]:
    made = [folder / f"{index:03d}.jpg" for index in range(first, first + count)]
    for index, path in enumerate(made, start=first):
        path.write_bytes(distinct_image(index))
    return made


async def stopped_mid_job(services: Services, gate: Gate, job_id: str) -> Job:
    """The job once the requests let through are stored and the next one waits at the ML service."""
    await gate.held.wait()
    await until(lambda: services.jobdb.counts(job_id).done == LET_THROUGH * BATCH, what="files stored")
    job = services.jobdb.get_job(job_id)
    assert job is not None and job.state == "running"
    return job


def listed_again(services: Services, job_id: str) -> bool:
    """The resumed run has listed the folder (a sync's "listed", a scan's "found" line after the restart)."""
    lines = [line.message for line in services.jobdb.logs(job_id)]
    restarts = [index for index, line in enumerate(lines) if line == "resumed after restart"]
    return bool(restarts) and any(line.startswith(("listed ", "found ")) for line in lines[restarts[-1]:])


async def resumed(ml_app: FastAPI, tmp_path: Path, library: Path, at_stop: Job) -> dict:
    """Start the service again; the resumed job's counts once it has listed its folder, before it reads a file,
    are those of the stop; then the job at its end."""
    gate = Gate(ml_app, opened=False)
    async with service(gate, tmp_path, library) as (services, api):
        await until(lambda: listed_again(services, at_stop.job_id), what="the resumed job listed its folder")
        now = services.jobdb.get_job(at_stop.job_id)
        assert now is not None
        assert (now.counts, now.percent) == (at_stop.counts, at_stop.percent)
        gate.opened.set()
        return await finished(api, at_stop.job_id)


async def test_a_resumed_sync_counts_each_file_once(loaded_ml_app, tmp_path: Path, library: Path) -> None:
    kept = photos(library, 0, KEPT)
    gate = Gate(loaded_ml_app)
    async with service(gate, tmp_path, library) as (services, api):
        await create(api)
        source = await add_source(api, library, watch=False, rescan_minutes=0)
        await shows(services, set(kept))
        new = photos(library, KEPT, NEW)
        gate.close_after(LET_THROUGH)
        response = await api.post(f"/api/v1/collections/photos/sources/{source['source_id']}/sync")
        assert response.status_code == 202, response.text
        at_stop = await stopped_mid_job(services, gate, response.json()["job_id"])
        assert (at_stop.counts.total, at_stop.counts.skipped) == (KEPT + NEW, KEPT)

    job = await resumed(loaded_ml_app, tmp_path, library, at_stop)
    got = job["counts"]
    assert (job["state"], job["percent"]) == ("completed", 100), job
    assert (got["total"], got["done"], got["cached"], got["skipped"], got["failed"]) == (KEPT + NEW, NEW, 0, KEPT, 0)
    async with service(Gate(loaded_ml_app), tmp_path, library) as (services, _):
        await shows(services, set(kept + new), "after the resumed sync")


async def test_a_resumed_scan_counts_each_file_once(loaded_ml_app, tmp_path: Path, library: Path) -> None:
    made = photos(library, 0, NEW)
    gate = Gate(loaded_ml_app)
    gate.close_after(LET_THROUGH)
    async with service(gate, tmp_path, library) as (services, api):
        await create(api)
        at_stop = await stopped_mid_job(services, gate, await scan(api, library))
        assert at_stop.counts.total == NEW

    job = await resumed(loaded_ml_app, tmp_path, library, at_stop)
    got = job["counts"]
    assert (job["state"], got["total"], got["done"], got["cached"], got["skipped"]) == ("completed", NEW, NEW, 0, 0)
    async with service(Gate(loaded_ml_app), tmp_path, library) as (services, _):
        assert paths(services) == {str(path) for path in made}


def test_plan_counts_a_file_the_job_already_holds_nowhere_else() -> None:
    """Stored by this job before the stop, still pending, or once removed by a person or failed and changed since:
    a file with a row in the job is neither unchanged, kept out, known bad, queued, gone nor forgotten."""
    listing = Listing(files={"/s/stored.jpg": FileStat(1, 5), "/s/pending.jpg": FileStat(2, 6),
                             "/s/kept-out.jpg": FileStat(3, 7), "/s/bad.jpg": FileStat(4, 8_000_000_000),
                             "/s/old.jpg": FileStat(5, 9), "/s/was-out.jpg": FileStat(6, 10)})
    stored = {"/s/stored.jpg": (1, 5), "/s/old.jpg": (5, 9), "/s/gone-since.jpg": (7, 11)}
    removed = {"/s/kept-out.jpg": (3, 7), "/s/was-out.jpg": (6, 10)}
    failed = {"/s/bad.jpg": (4, 8.0)}
    in_job = {"/s/stored.jpg", "/s/pending.jpg", "/s/was-out.jpg", "/s/gone-since.jpg"}
    result = plan(listing, stored, 0.0, 10**19, removed, failed, in_job)
    assert (result.in_job, result.unchanged, result.kept_out, result.known_bad) == (3, 1, 1, 1)
    assert (result.pending, result.vanished, result.forgotten, result.unfailed) == ([], ["/s/gone-since.jpg"], [], [])
