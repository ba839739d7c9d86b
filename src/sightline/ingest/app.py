"""The ingestion orchestration service: collections, background ingestion jobs, search, thumbnails, UI."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from typing import AsyncIterator

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from sightline import __version__
from sightline.config import IngestSettings
from sightline.http import BodySizeLimit, install_error_handlers
from sightline.ingest.api import collections, images, jobs, search, system
from sightline.ingest.auth import AdminTokenGuard
from sightline.ingest.jobdb import JobStore
from sightline.ingest.ml_client import MLClient
from sightline.ingest.pipeline import JobRunner
from sightline.ingest.services import Services
from sightline.ingest.vectors import open_store

log = logging.getLogger("sightline.ingest")


def build_services(settings: IngestSettings) -> Services:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.uploads_dir.mkdir(parents=True, exist_ok=True)
    store = open_store(settings.data_dir, settings.qdrant_url, settings.qdrant_api_key,
                       flush_interval_s=settings.store_flush_seconds)
    job_store = JobStore(settings.data_dir / "sightline.db")
    api_key = settings.api_keys[0] if settings.api_keys else None
    ml = MLClient(settings.ml_urls, api_key, timeout=settings.ml_timeout, retries=settings.ml_retries,
                  backoff=settings.ml_backoff)
    runner = JobRunner(job_store, store, ml, settings)
    return Services(settings, store, job_store, ml, runner)


def create_app(settings: IngestSettings | None = None) -> FastAPI:
    settings = settings or IngestSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = build_services(settings)
        app.state.services = services
        await services.runner.start()
        try:
            yield
        finally:
            await services.runner.stop()
            await services.ml.aclose()
            services.jobdb.close()
            services.vectors.close()

    app = FastAPIOffline(  # API docs served from the package: they work with no internet
        title="Sightline ingestion service",
        version=__version__,
        description="Collections, background ingestion jobs with live progress and per-file errors, "
        "semantic search and thumbnails. The web admin UI is served at /.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)
    app.add_middleware(AdminTokenGuard, token=settings.admin_token)
    for module in (system, collections, jobs, search, images):
        app.include_router(module.router)
    _mount_ui(app)
    return app


def _mount_ui(app: FastAPI) -> None:
    try:
        from sightline.ui.routes import mount_ui
    except ImportError:
        log.warning("the web UI is not available in this build")
        return
    mount_ui(app)
