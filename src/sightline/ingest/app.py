"""The ingestion API: collections, background ingestion jobs, search, thumbnails (the web UI is added by
`sightline.server`)."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from typing import AsyncIterator

import httpx
from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from sightline import __version__
from sightline.config import IngestSettings
from sightline.guards import HostPolicy
from sightline.http import BodySizeLimit, install_error_handlers
from sightline.ingest.api import browse, collections, images, jobs, search, session, system
from sightline.ingest.api import sources
from sightline.ingest.api import review
from sightline.ingest.api import indexing
from sightline.ingest import data_lock
from sightline.ingest.auth import AdminAuth, AdminTokenGuard
from sightline.ingest.jobdb import JobStore
from sightline.ingest.ml_client import MLClient
from sightline.ingest.payload_upgrade import upgrade_all
from sightline.ingest.pipeline import JobRunner
from sightline.ingest.review.selection import start_review, stop_review
from sightline.ingest.services import Services
from sightline.ingest.uploads import discard_unfinished
from sightline.ingest.vectors import open_store
from sightline.security import MIN_ADMIN_TOKEN_CHARS, check_bind

ROUTERS = (system.router, browse.router, session.router, collections.router, jobs.router, search.router,
           images.router, images.batch_router)
ROUTERS += (sources.router,)
ROUTERS += (review.router,)
ROUTERS += (indexing.router,)


def build_services(settings: IngestSettings, *, ml_transport: httpx.AsyncBaseTransport | None = None) -> Services:
    """`ml_transport` carries every request to the ML service when given (tests pass the ML app in-process)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    data_lock.hold(settings.data_dir)  # before anything in it is touched (the uploads of another service)
    settings.uploads_dir.mkdir(parents=True, exist_ok=True)
    discard_unfinished(settings.uploads_dir)
    vectors = open_store(settings.data_dir, settings.qdrant_url, settings.qdrant_api_key,
                         flush_interval_s=settings.store_flush_seconds, own_process=settings.store_process)
    jobdb = JobStore(settings.data_dir / "sightline.db")
    api_key = settings.api_keys[0] if settings.api_keys else None
    ml = MLClient(settings.ml_urls, api_key, timeout=settings.ml_timeout,
                  interactive_timeout=settings.ml_interactive_timeout, retries=settings.ml_retries,
                  backoff=settings.ml_backoff, transport=ml_transport, upload=settings.ml_upload)
    runner = JobRunner(jobdb, vectors, ml, settings)
    return Services(settings, vectors, jobdb, ml, runner)


def create_app(
    settings: IngestSettings | None = None, *, ml_transport: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    settings = settings or IngestSettings()
    check_bind(settings.host, settings.admin_token, "SIGHTLINE_ADMIN_TOKEN", min_chars=MIN_ADMIN_TOKEN_CHARS)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = build_services(settings, ml_transport=ml_transport)
        app.state.services = services
        await services.runner.start()
        await start_review(app.state, services)  # copies a stop interrupted go on
        # points stored before `words` and `sort_ts`
        app.state.payload_upgrade = upgrade = asyncio.create_task(upgrade_all(services))
        try:
            yield
        finally:
            await stop_review(app.state)  # before the stores close; a copy stopped so resumes at the next start
            upgrade.cancel()
            await asyncio.gather(upgrade, return_exceptions=True)
            await services.runner.stop()
            await services.ml.aclose()
            services.jobdb.close()
            services.vectors.close()
            data_lock.release(settings.data_dir)

    app = FastAPIOffline(  # API docs served from the package: they work with no internet
        title="Sightline ingestion service",
        version=__version__,
        description="Collections, background ingestion jobs with live progress and per-file errors, "
        "semantic search and thumbnails.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)
    app.state.admin_auth = auth = AdminAuth(settings.admin_token)
    app.add_middleware(AdminTokenGuard, auth=auth, hosts=HostPolicy(settings.allowed_host_names))
    for router in ROUTERS:
        app.include_router(router)
    return app
