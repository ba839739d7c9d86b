"""The in-process ingestion app, and the steps the API tests share: create, scan, wait for a job."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI

from sightline.config import IngestSettings
from sightline.ingest.app import create_app
from sightline.ingest.services import Services
from tests.conftest import ingest_settings

ML_URL = "http://ml.test"  # never resolved: the ML transport carries every request to the ML app
BASE_URL = "http://localhost"  # a loopback name: the Host allow-list accepts it


def settings_for(tmp_path: Path, library: Path, **overrides) -> IngestSettings:
    return ingest_settings(overrides.pop("ml_url", ML_URL), tmp_path, [library], **overrides)


@asynccontextmanager
async def running(
    settings: IngestSettings, ml_app: FastAPI | None, factory: Callable[..., FastAPI] = create_app
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The app with its lifespan run (services built, job runner started), and a client of it; with no
    `ml_app`, the ML service is reached over the network at `settings.ml_url`."""
    app = factory(settings, ml_transport=httpx.ASGITransport(app=ml_app) if ml_app else None)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client:
            yield app, client


async def create(api: httpx.AsyncClient, name: str = "photos", **params) -> dict:
    response = await api.post("/api/v1/collections", json={"name": name, **params})
    assert response.status_code == 201, response.text
    return response.json()


async def scan(api: httpx.AsyncClient, folder: Path, collection: str = "photos", **options) -> str:
    response = await api.post(
        "/api/v1/ingest/scan", json={"collection": collection, "directory_path": str(folder), **options}
    )
    assert response.status_code == 202, response.text
    return response.json()["job_id"]


async def finished(api: httpx.AsyncClient, job_id: str) -> dict:
    """The job once it has finished: its event stream ends with an `end` event exactly then."""
    events = await api.get(f"/api/v1/jobs/{job_id}/events")
    assert events.status_code == 200 and "event: end" in events.text, events.text
    job = (await api.get(f"/api/v1/jobs/{job_id}")).json()
    assert job["is_terminal"], job
    return job


async def ingested(api: httpx.AsyncClient, folder: Path, collection: str = "photos", **options) -> dict:
    """Scan `folder` into `collection` and wait for the job to finish."""
    return await finished(api, await scan(api, folder, collection, **options))


def all_points(services: Services, collection: str) -> list:
    points, offset = [], None
    while True:
        page, offset = services.vectors.scroll(collection, limit=100, offset=offset)
        points.extend(page)
        if offset is None:
            return points


@contextmanager
def never_answering_url() -> Iterator[str]:
    """A real socket that takes connections (the kernel's backlog) and never answers, like a SIGSTOPped service."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(64)
        yield f"http://127.0.0.1:{server.getsockname()[1]}"


async def until(predicate: Callable[[], object], timeout: float = 30, what: str = "condition") -> None:
    """Awaits (without blocking the event loop the apps run on) until `predicate()` is truthy."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"{what} not met within {timeout} s"
        await asyncio.sleep(0.01)


def gated(app: FastAPI, path: str, gate: asyncio.Event, entered: asyncio.Event) -> Callable:
    """`app` behind a door: requests to `path` signal `entered`, then wait for `gate` (a slow ML service)."""
    async def door(scope, receive, send) -> None:
        if scope["type"] == "http" and scope["path"] == path:
            entered.set()
            await gate.wait()
        await app(scope, receive, send)
    return door
