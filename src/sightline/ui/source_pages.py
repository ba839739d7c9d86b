"""The sources page of a collection: its followed folders with their state, rendered from the same view the
sources API answers with; `static/js/sources.js` sends the forms and keeps the states live. It also names the
folders of other collections that its copies follow (a collection made from a selection, or a merge's target)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from sightline.errors import SightlineError
from sightline.ingest import queries
from sightline.ingest.api.sources import source_view
from sightline.ingest.paths import is_inside
from sightline.ingest.review.merge import check_compatible
from sightline.ingest.services import ServicesDep
from sightline.ingest.sources.store import SourceStore
from sightline.ingest.vectors import SearchFilters, VectorStore
from sightline.ui.errors import collection_not_found
from sightline.ui.templating import render

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


@router.get("/collections/{name}/sources")
async def sources_page(request: Request, services: ServicesDep, name: str) -> HTMLResponse:
    try:
        info = await services.call(services.vectors.collection_info, name)
    except SightlineError as exc:
        return collection_not_found(request, name, exc)
    store = services.runner.sources.store
    sources = [await source_view(services, source) for source in await services.call(store.list, name)]
    copies = await services.call(followed_copies, services.vectors, store, name)
    return render(request, "sources.html", "sources", collection=info.to_dict(), sources=sources, copies=copies,
                  collections=await queries.collection_infos(services),
                  roots=[str(root) for root in services.settings.roots[:-1]])


def followed_copies(vectors: VectorStore, store: SourceStore, name: str) -> list[dict[str, Any]]:
    """The folders other collections follow where `name` holds copies of their photos, with how many: those
    copies follow the folder's syncs (the rule of `ingest/review/copies.py`: same model, and not a folder that
    `name` follows itself, or one above or inside it)."""
    info = vectors.collection_info(name)
    if info.error:
        return []
    own = [Path(source.path) for source in store.list(name)]
    followed = []
    for source in store.list():
        folder = Path(source.path)
        if source.collection == name or any(is_inside(folder, [path]) or is_inside(path, [folder]) for path in own):
            continue
        count = vectors.count(name, SearchFilters(folder=source.path))
        if count and _same_model(vectors, source.collection, info):
            followed.append({"collection": source.collection, "path": source.path, "count": count})
    return followed


def _same_model(vectors: VectorStore, collection: str, info: Any) -> bool:
    try:
        check_compatible(vectors.collection_info(collection), info)
    except SightlineError:
        return False
    return True
