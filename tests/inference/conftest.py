"""An ML app of the inference tests' own (tiny models), its lifespan running, reached in-process.

Async tests here share the session's event loop with the app (`pytestmark = pytest.mark.asyncio(
loop_scope="session")` in each module). The app is not the shared `ml_app`: these tests unload and reload
its models, which must not disturb the tests that serve `ml_app` over a socket.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
from fastapi import FastAPI

from sightline.config import MLSettings
from sightline.inference.app import create_app
from tests.conftest import TEST_KEYS


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def inference_app(ml_settings: MLSettings) -> AsyncIterator[FastAPI]:
    app = create_app(ml_settings)
    async with app.router.lifespan_context(app):
        await asyncio.to_thread(app.state.holder.load)  # waits for the start-up load the lifespan began
        yield app


def client_of(app: FastAPI, api_key: str | None = TEST_KEYS[0]) -> httpx.AsyncClient:
    headers = {"x-api-key": api_key} if api_key is not None else {}
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ml", headers=headers)


@pytest_asyncio.fixture(loop_scope="session")
async def api(inference_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client sending the first test key."""
    async with client_of(inference_app) as client:
        yield client


@pytest_asyncio.fixture(loop_scope="session")
async def anonymous(inference_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client sending no key."""
    async with client_of(inference_app, api_key=None) as client:
        yield client
