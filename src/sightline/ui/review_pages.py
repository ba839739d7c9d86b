"""The review pages of a collection: its duplicate groups and its map. Rendered as shells with the collection's
facts; their scripts (`duplicates.js`, `map.js`) ask the review API and keep them live."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from sightline.errors import SightlineError
from sightline.ingest.review.duplicates import DEFAULT_THRESHOLD
from sightline.ingest.services import ServicesDep
from sightline.ui.errors import collection_not_found
from sightline.ui.templating import render

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


async def _page(request: Request, services: ServicesDep, name: str, template: str, **context) -> HTMLResponse:
    try:
        info = await services.call(services.vectors.collection_info, name)
    except SightlineError as exc:
        return collection_not_found(request, name, exc)
    return render(request, template, "", collection=info.to_dict(), **context)


@router.get("/collections/{name}/duplicates")
async def duplicates_page(request: Request, services: ServicesDep, name: str) -> HTMLResponse:
    return await _page(request, services, name, "duplicates.html", threshold=DEFAULT_THRESHOLD)


@router.get("/collections/{name}/map")
async def map_page(request: Request, services: ServicesDep, name: str) -> HTMLResponse:
    return await _page(request, services, name, "map.html")
