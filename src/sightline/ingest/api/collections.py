"""Collections: list, create with custom parameters, info, delete."""

from __future__ import annotations

import shutil
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from sightline.errors import ErrorCode, SightlineError
from sightline.ingest import queries
from sightline.ingest.api import ServicesDep
from sightline.ingest.api.images import thumbnail_url
from sightline.ingest.jobdb import Job
from sightline.ingest.model_match import check_vector_size, collection_metadata
from sightline.ingest.schemas import CollectionCreate
from sightline.ingest.services import Services
from sightline.ingest.vectors import COLLECTION_NAME_MAX_LENGTH, CollectionParams, SearchFilters

router = APIRouter(prefix="/api/v1/collections", tags=["collections"])
CollectionName = Annotated[
    str, Path(min_length=1, max_length=COLLECTION_NAME_MAX_LENGTH, description="Collection name.")
]


@router.get("")
async def list_collections(services: ServicesDep) -> dict:
    """Every collection with its point count, status and parameters."""
    return {"collections": await queries.collection_infos(services)}


@router.post("", status_code=201)
async def create_collection(body: CollectionCreate, services: ServicesDep) -> dict:
    """Create a collection bound to the ML service's current model (its dimension by default)."""
    if body.name in {info.name for info in await services.call(services.vectors.list_collections)}:
        raise SightlineError(ErrorCode.CONFLICT, f"Collection {body.name!r} already exists.", where="name",
                             status=409)
    capabilities = await services.ml.capabilities(interactive=True)
    params = CollectionParams(
        vector_size=check_vector_size(body.vector_size, capabilities),
        distance=body.distance,
        on_disk=body.on_disk,
        hnsw_m=body.hnsw.m,
        hnsw_ef_construct=body.hnsw.ef_construct,
        quantization=body.quantization,
        metadata=collection_metadata(capabilities),
    )
    info = await services.call(services.vectors.create_collection, body.name, params.validate())
    return info.to_dict()


@router.get("/{name}")
async def collection_info(name: CollectionName, services: ServicesDep) -> dict:
    info = await services.call(services.vectors.collection_info, name)
    return info.to_dict()


@router.get("/{name}/facets")
async def collection_facets(name: CollectionName, services: ServicesDep) -> dict:
    """Distinct cameras, formats and folders with counts, for search filters."""
    facets = {}
    for key in ("camera", "format", "folder"):
        values = await services.call(services.vectors.facet, name, key, 100)
        facets[key] = [{"value": value, "count": count} for value, count in values]
    return facets


@router.get("/{name}/duplicates")
async def exact_duplicates(
    name: CollectionName, services: ServicesDep, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> dict:
    """Groups of files with identical content (same SHA-256), largest groups first."""
    counts = await services.call(services.vectors.facet, name, "sha256", limit)
    groups = []
    for sha256, count in counts:
        if count < 2:
            break
        points, _ = await services.call(services.vectors.scroll, name, limit=min(count, 100),
                                        filters=SearchFilters(sha256=sha256))
        groups.append({"sha256": sha256, "count": count, "points": [
            {"id": point.id, "path": point.payload.get("path"),
             "thumbnail_url": thumbnail_url(name, point.id)} for point in points]})
    return {"groups": groups}


@router.delete("/{name}", status_code=204)
async def delete_collection(name: CollectionName, services: ServicesDep) -> Response:
    """Delete the collection, its points and its jobs' records. Its jobs are cancelled first, and the delete
    waits for a running one to stop, so nothing of it lands in a collection re-created under the same name."""
    await services.call(services.vectors.collection_info, name)  # 404 first
    await services.runner.stop_collection(name)
    uploads = [services.settings.uploads_dir / job.job_id for job in await _all_jobs(services, name)
               if job.kind == "upload"]
    await services.call(services.vectors.delete_collection, name)
    await services.call(services.jobdb.delete_jobs_for_collection, name)
    for folder in [services.settings.data_dir / "thumbnails" / name, *uploads]:
        await services.call(shutil.rmtree, folder, True)
    return Response(status_code=204)


async def _all_jobs(services: Services, name: str) -> list[Job]:
    jobs: list[Job] = []
    page = 1000
    while batch := await services.call(services.jobdb.list_jobs, collection=name, limit=page, offset=len(jobs)):
        jobs.extend(batch)
        if len(batch) < page:
            break
    return jobs
