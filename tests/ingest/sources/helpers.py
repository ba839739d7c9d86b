"""The ingestion app in-process with fast source settings, an ML app that counts its embed requests, and the
steps source tests share: add a source, wait until the collection shows a set of paths."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI

from sightline.ingest.services import Services
from tests.ingest.api.helpers import all_points, create, finished, running, settings_for, until

EMBED_PATH = "/api/v1/embed_images"
FAST = dict(source_settle_seconds=0.3, source_offline_check_seconds=0.05, source_poll_ms=50)


class Counting:
    """An ASGI wrapper that counts requests per path (the ML requests a sync made)."""

    def __init__(self, app: FastAPI):
        self.app = app
        self.requests: Counter[str] = Counter()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            self.requests[scope["path"]] += 1
        await self.app(scope, receive, send)


@asynccontextmanager
async def source_app(ml_app: FastAPI, tmp_path: Path, library: Path, **overrides
                     ) -> AsyncIterator[tuple[Services, httpx.AsyncClient, Counting]]:
    counting = Counting(ml_app)
    settings = settings_for(tmp_path, library, **{**FAST, **overrides})
    async with running(settings, counting) as (app, api):  # type: ignore[arg-type]
        await create(api)
        yield app.state.services, api, counting


async def add_source(api: httpx.AsyncClient, folder: Path, collection: str = "photos", **fields) -> dict:
    response = await api.post(f"/api/v1/collections/{collection}/sources", json={"path": str(folder), **fields})
    assert response.status_code == 201, response.text
    return response.json()


def paths(services: Services, collection: str = "photos") -> set[str]:
    return {point.payload["path"] for point in all_points(services, collection)}


def idle(services: Services) -> bool:
    return not services.jobdb.list_jobs(states=("queued", "running"))


async def shows(services: Services, expected: set[Path], what: str = "the collection") -> None:
    """Until the collection holds exactly `expected` and no job is left to run."""
    wanted = {str(path) for path in expected}
    await until(lambda: idle(services) and paths(services) == wanted, timeout=30, what=f"{what} shows {wanted}")


async def last_sync(api: httpx.AsyncClient, source: dict) -> dict:
    """The source's latest sync job, once finished."""
    now = (await api.get(f"/api/v1/collections/{source['collection']}/sources/{source['source_id']}")).json()
    return await finished(api, now["last_sync"]["job_id"])
