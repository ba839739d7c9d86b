"""The ingestion API in-process: its app and the ML app both reached through `httpx.ASGITransport`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI

from sightline.ingest.services import Services
from tests.ingest.api.helpers import running, settings_for


@pytest.fixture(scope="session")
def loaded_ml_app(ml_app: FastAPI) -> Iterator[FastAPI]:
    """The ML app with its models loaded, as its lifespan does in the background (so /health says "ok")."""
    ml_app.state.holder.load()
    yield ml_app
    ml_app.state.holder.unload()


@pytest.fixture()
async def ingest_app(loaded_ml_app, tmp_path, library) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with running(settings_for(tmp_path, library), loaded_ml_app) as pair:
        yield pair


@pytest.fixture()
def api(ingest_app) -> httpx.AsyncClient:
    return ingest_app[1]


@pytest.fixture()
def services(ingest_app) -> Services:
    return ingest_app[0].state.services
