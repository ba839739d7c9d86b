"""The ML inference service's factory: batched image embeddings + captions, text embeddings, behind an API key."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from typing import AsyncIterator

from fastapi import FastAPI

from sightline.config import MLSettings
from sightline.guards import ApiKeyGuard, HostPolicy
from sightline.http import service_app
from sightline.inference.api import embed, system
from sightline.inference.holder import BackendLoader, ModelHolder
from sightline.inference.models.registry import load_backend
from sightline.security import is_loopback

API_PREFIX = "/api/v1"


def create_app(settings: MLSettings | None = None, loader: BackendLoader = load_backend) -> FastAPI:
    """`loader` builds the backend from the settings; benchmarks pass their own (e.g. full-size random CLIP)."""
    settings = settings or MLSettings()
    holder = ModelHolder(settings, loader)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        loading = asyncio.create_task(asyncio.to_thread(holder.try_load))  # /health says "loading" meanwhile
        yield
        loading.cancel()
        await asyncio.to_thread(holder.unload)

    app = service_app(
        settings,
        title="Sightline ML inference service",
        description="Batched image embeddings and captions, and text embeddings. Every /api/v1 route "
        "needs the x-api-key header when keys are configured.",
        lifespan=lifespan,
    )
    app.state.holder = holder
    app.include_router(system.public)
    app.add_middleware(ApiKeyGuard, keys=settings.api_keys, hosts=HostPolicy(settings.allowed_host_names),
                       docs_open=is_loopback(settings.host))  # outermost: before a byte of the body is read
    for module in (embed, system):
        app.include_router(module.router, prefix=API_PREFIX)
    return app
