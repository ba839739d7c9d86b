"""The ingestion service as people run it: the ingestion API (`sightline.ingest.app`) plus the web UI."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from sightline import ui
from sightline.config import IngestSettings
from sightline.ingest import app as ingest_app


def create_app(
    settings: IngestSettings | None = None, *, ml_transport: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    app = ingest_app.create_app(settings, ml_transport=ml_transport)
    app.description += " The web admin UI is served at /."
    app.include_router(ui.router)
    app.mount("/static", ui.static_files(), name="static")
    return app
