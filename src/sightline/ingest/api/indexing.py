"""A collection's vector index: its state, and building it now (embedded store; see `ingest/indexing.py`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from sightline.ingest.api import ServicesDep
from sightline.ingest.vectors import COLLECTION_NAME_MAX_LENGTH

router = APIRouter(prefix="/api/v1/collections", tags=["collections"])
Name = Annotated[str, Path(min_length=1, max_length=COLLECTION_NAME_MAX_LENGTH)]


@router.get("/{name}/index")
async def index_status(name: Name, services: ServicesDep) -> dict:
    """Whether a build runs, the last build's outcome, and from how many points builds start by themselves."""
    await services.call(services.vectors.collection_info, name)  # 404 for an unknown collection
    return services.runner.indexer.status(name)


@router.post("/{name}/index", status_code=202)
async def build_index(
    name: Name,
    services: ServicesDep,
    threshold_kb: Annotated[int | None, Query(ge=1, le=2**31 - 1, description=(
        "Segments with fewer KB of vectors stay exact (the engine's default, about 10 MB, when absent; 1 indexes all)."))] = None,
) -> dict:
    """Build the HNSW graph (and int8 vectors, if the collection asks for them) now, in the background."""
    await services.call(services.vectors.collection_info, name)
    return services.runner.indexer.start(name, threshold_kb)
