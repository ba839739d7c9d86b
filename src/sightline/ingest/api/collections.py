"""Collections: list, create with custom parameters (or from another collection's points, copied in the
background: `review/selection.py`), info, delete."""

from __future__ import annotations

import shutil
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from fastapi.responses import JSONResponse

from sightline.errors import ErrorCode, SightlineError
from sightline.ingest import queries
from sightline.ingest.api import ServicesDep
from sightline.ingest.jobdb import Job
from sightline.ingest.model_match import check_vector_size, collection_metadata
from sightline.ingest.review.context import Review, ReviewDep
from sightline.ingest.review.merge import copied_uploads
from sightline.ingest.review.selection import selected_ids, start_copy
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


@router.post("", status_code=201, responses={202: {"description": "With `from_points`: the copy's task."}})
async def create_collection(body: CollectionCreateFrom, services: ServicesDep, review: ReviewDep) -> Any:
    """Create a collection bound to the ML service's current model (its dimension by default): 201 with its
    info. With `from_points`: the selection is checked (409, 404, 422 as for any collection, then 422 for an id
    not in the source and `MODEL_MISMATCH` for another `vector_size`), the collection is made for their model, and
    the points are copied into it (vectors not re-embedded) in the background: 202 with `{"collection", "task"}`,
    the review task (`GET /api/v1/review/tasks/{id}`: `done` of `total` points), already completed when the
    selection is small. Its `result`: `{"collection", "copied", "from", "points_count"}`. A copy that fails
    removes the collection and says so in the task's `error`; one a stop of the service interrupted goes on at
    its next start, under the same task id. A 409 too while another request makes a collection of that name."""
    if body.name in {info.name for info in await services.call(services.vectors.list_collections)}:
        raise SightlineError(ErrorCode.CONFLICT, f"Collection {body.name!r} already exists.", where="name",
                             status=409)
    if body.from_points is not None:
        return await _from_points(body, body.from_points, services, review)
    capabilities = await services.ml.capabilities(interactive=True)
    params = _params(body, check_vector_size(body.vector_size, capabilities), collection_metadata(capabilities))
    info = await services.call(services.vectors.create_collection, body.name, params.validate())
    return info.to_dict()


def _params(body: CollectionCreate, vector_size: int, metadata: dict) -> CollectionParams:
    return CollectionParams(vector_size=vector_size, distance=body.distance, on_disk=body.on_disk,
                            hnsw_m=body.hnsw.m, hnsw_ef_construct=body.hnsw.ef_construct,
                            quantization=body.quantization, metadata=metadata)


async def _from_points(body: CollectionCreate, selection: FromPoints, services: Services,
                       review: Review) -> JSONResponse:
    source = (await services.call(services.vectors.collection_info, selection.collection)).params
    if body.vector_size is not None and body.vector_size != source.vector_size:
        raise SightlineError(ErrorCode.MODEL_MISMATCH, f"vector_size {body.vector_size} differs from "
                             f"{selection.collection!r} ({source.vector_size}-d).", where="vector_size", status=422)
    params = _params(body, source.vector_size, dict(source.metadata))
    params.distance = source.distance
    ids = await services.call(selected_ids, services.vectors, selection.collection, selection.point_ids)
    task = await start_copy(services, review, body.name, params.validate(), selection.collection, ids)
    return JSONResponse({"collection": body.name, "task": task.to_dict()}, status_code=202)


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
    for writing in review.tasks.writing_into(name):
        await review.tasks.cancel(writing)  # a selection being copied or a merge into it: stopped first
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
