"""Collections: list, create with custom parameters (or from another collection's points), info, delete."""

from __future__ import annotations

import shutil
from typing import Annotated

from fastapi import APIRouter, Path, Response

from sightline.errors import ErrorCode, SightlineError
from sightline.ingest import queries
from sightline.ingest.api import ServicesDep
from sightline.ingest.jobdb import Job
from sightline.ingest.model_match import check_vector_size, collection_metadata
from sightline.ingest.review.context import ReviewDep
from sightline.ingest.review.merge import collection_from_points, copied_uploads, selected_ids
from sightline.ingest.review.schemas import CollectionCreateFrom, FromPoints
from sightline.ingest.schemas import CollectionCreate
from sightline.ingest.services import Services
from sightline.ingest.vectors import COLLECTION_NAME_MAX_LENGTH, CollectionParams

router = APIRouter(prefix="/api/v1/collections", tags=["collections"])
CollectionName = Annotated[
    str, Path(min_length=1, max_length=COLLECTION_NAME_MAX_LENGTH, description="Collection name.")
]


@router.get("")
async def list_collections(services: ServicesDep) -> dict:
    """Every collection with its point count, status and parameters."""
    return {"collections": await queries.collection_infos(services)}


@router.post("", status_code=201)
async def create_collection(body: CollectionCreateFrom, services: ServicesDep) -> dict:
    """Create a collection bound to the ML service's current model (its dimension by default); with
    `from_points`, bound to their collection's model and holding copies of them (vectors not re-embedded)."""
    if body.name in {info.name for info in await services.call(services.vectors.list_collections)}:
        raise SightlineError(ErrorCode.CONFLICT, f"Collection {body.name!r} already exists.", where="name",
                             status=409)
    if body.from_points is not None:
        return await _from_points(body, body.from_points, services)
    capabilities = await services.ml.capabilities(interactive=True)
    params = _params(body, check_vector_size(body.vector_size, capabilities), collection_metadata(capabilities))
    info = await services.call(services.vectors.create_collection, body.name, params.validate())
    return info.to_dict()


def _params(body: CollectionCreate, vector_size: int, metadata: dict) -> CollectionParams:
    return CollectionParams(vector_size=vector_size, distance=body.distance, on_disk=body.on_disk,
                            hnsw_m=body.hnsw.m, hnsw_ef_construct=body.hnsw.ef_construct,
                            quantization=body.quantization, metadata=metadata)


async def _from_points(body: CollectionCreate, selection: FromPoints, services: Services) -> dict:
    source = (await services.call(services.vectors.collection_info, selection.collection)).params
    if body.vector_size is not None and body.vector_size != source.vector_size:
        raise SightlineError(ErrorCode.MODEL_MISMATCH, f"vector_size {body.vector_size} differs from "
                             f"{selection.collection!r} ({source.vector_size}-d).", where="vector_size", status=422)
    params = _params(body, source.vector_size, dict(source.metadata))
    params.distance = source.distance
    ids = await services.call(selected_ids, services.vectors, selection.collection, selection.point_ids)
    info = await services.call(collection_from_points, services.vectors, services.settings, body.name,
                               params.validate(), selection.collection, ids)
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


@router.delete("/{name}", status_code=204)
async def delete_collection(name: CollectionName, services: ServicesDep, review: ReviewDep) -> Response:
    """Delete the collection, its points and its jobs' records. Its jobs are cancelled first, and the delete
    waits for a running one to stop, so nothing of it lands in a collection re-created under the same name."""
    await services.call(services.vectors.collection_info, name)  # 404 first
    await services.runner.sources.drop_collection(name)  # no sync may start for it any more
    await services.runner.stop_collection(name)
    uploads = [services.settings.uploads_dir / job.job_id for job in await _all_jobs(services, name)
               if job.kind == "upload"] + [copied_uploads(services.settings, name)]
    await services.call(services.vectors.delete_collection, name)
    await services.call(review.state.forget_collection, name)
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
