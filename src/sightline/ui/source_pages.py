"""The sources page of a collection: its followed folders with their state, rendered from the same view the
sources API answers with; `static/js/sources.js` sends the forms and keeps the states live."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from sightline.errors import SightlineError
from sightline.ingest.api.sources import source_view
from sightline.ingest.services import ServicesDep
from sightline.ui.templating import render

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


@router.get("/collections/{name}/sources")
async def sources_page(request: Request, services: ServicesDep, name: str) -> HTMLResponse:
    try:
        info = await services.call(services.vectors.collection_info, name)
    except SightlineError as exc:
        return render(request, "error.html", "", status_code=exc.status, title="Not found", message=exc.message)
    sources = [await source_view(services, source)
               for source in await services.call(services.runner.sources.store.list, name)]
    return render(request, "sources.html", "sources", collection=info.to_dict(), sources=sources,
                  roots=[str(root) for root in services.settings.roots[:-1]])
