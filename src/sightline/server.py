"""The ingestion service as people run it: the ingestion API (`sightline.ingest.app`) plus the web UI."""

from __future__ import annotations

import httpx
from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from sightline import ui
from sightline.config import IngestSettings
from sightline.ingest import app as ingest_app
from sightline.ui.errors import page_not_found


def create_app(
    settings: IngestSettings | None = None, *, ml_transport: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    app = ingest_app.create_app(settings, ml_transport=ml_transport)
    app.description += " The web admin UI is served at /."
    app.include_router(ui.router)
    app.mount("/static", ui.static_files(), name="static")
    _pages_not_found(app)
    return app


def _pages_not_found(app: FastAPI) -> None:
    """A browser asking for a page that does not exist (`/photos`) gets a page that says so, with the navigation;
    the API's clients keep their structured 404."""
    api_answer = app.exception_handlers[StarletteHTTPException]

    async def not_found(request: Request, exc: StarletteHTTPException) -> Response:
        path = request.url.path
        page = request.method == "GET" and "text/html" in request.headers.get("accept", "") \
            and not path.startswith(("/api/", "/static/"))
        if exc.status_code == 404 and page:
            return page_not_found(request)
        return await api_answer(request, exc)

    app.add_exception_handler(StarletteHTTPException, not_found)
