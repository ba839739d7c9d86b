"""Review routes: duplicate groups (exact and near) and the decisions on them, a collection's map, merging
collections, a random point, and the progress of the background tasks behind them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from sightline.errors import SightlineError
from sightline.ingest.api import ServicesDep
from sightline.ingest.api.collections import CollectionName
from sightline.ingest.removal import remove_points
from sightline.ingest.review import queries
from sightline.ingest.review.context import ReviewDep
from sightline.ingest.review.duplicates import DEFAULT_THRESHOLD, Kind
from sightline.ingest.review.groups import group_pairs
from sightline.ingest.review.schemas import DismissRequest, KeepRequest, MergeRequest
from sightline.ingest.vectors import canonical_id
from sightline.ingest.vectors.base import validation_error

router = APIRouter(prefix="/api/v1", tags=["review"])
Threshold = Annotated[float, Query(ge=0.5, le=1.0, description="Least cosine similarity of near-duplicates.")]


@router.get("/collections/{name}/duplicates")
async def duplicates(
    name: CollectionName, services: ServicesDep, review: ReviewDep, kind: Kind = "exact",
    threshold: Threshold = DEFAULT_THRESHOLD, limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> JSONResponse:
    """Groups of duplicates, largest first, each best first (largest, original format, earliest). `exact`:
    the same bytes; `near`: alike by their vectors (re-encoded, resized, cropped, a burst) and by their perceptual
    hashes (at most `hash_max_bits` of 64 bits apart), every member near the group's centre; `all`: both. A near
    group says `checked` (false: a file could not be read for its hash, so some pairs were taken on the vectors
    alone) and `exact_of` (member → the better member with the same bytes); each of its `points` carries its own
    `exact_of` and `hash_bits` (bits apart from the first). A near scan runs in the background: until it is done
    the answer is 202 with its `task` (and the exact groups)."""
    status, body = await queries.duplicate_groups(services, review, name, kind, threshold, limit)
    return JSONResponse(body, status_code=status)


@router.post("/collections/{name}/duplicates/scan", status_code=202)
async def rescan(name: CollectionName, services: ServicesDep, review: ReviewDep,
                 threshold: Threshold = DEFAULT_THRESHOLD) -> dict:
    """Scan for near-duplicates again now (a scan also starts by itself when the collection changed)."""
    task = queries.start_near_scan(services, review, name, await queries.marker(services, name), threshold)
    return {"task": task.to_dict()}


@router.post("/collections/{name}/duplicates/dismiss")
async def not_duplicates(name: CollectionName, body: DismissRequest, services: ServicesDep,
                         review: ReviewDep) -> dict:
    """"Not duplicates": these points are never proposed together again."""
    await services.call(services.vectors.collection_info, name)
    ids = _ids(body.point_ids, "point_ids")
    pairs = group_pairs(ids)
    await services.call(review.state.dismiss, name, pairs)
    return {"dismissed_pairs": len(pairs)}


@router.post("/collections/{name}/duplicates/keep")
async def keep_one(name: CollectionName, body: KeepRequest, services: ServicesDep, review: ReviewDep) -> dict:
    """Keep one, remove the others from the index (their thumbnails and upload copies too; originals stay)."""
    keep = _ids([body.keep], "keep")[0]
    remove = [point_id for point_id in _ids(body.remove, "remove") if point_id != keep]
    if not remove:
        raise validation_error("nothing to remove besides the point kept", "remove")
    before = await queries.marker(services, name)
    removal = await services.call(remove_points, services.vectors, services.settings, name, remove,
                                  remember=services.jobdb)
    after = await queries.marker(services, name)
    scan = await services.call(review.state.near_scan, name)
    await services.call(review.state.forget_points, name, removal.deleted,
                        after if scan and scan[0] == before else None)
    return {"kept": keep, "deleted": removal.deleted, "missing": removal.missing}


def _ids(ids: list[str], where: str) -> list[str]:
    try:
        return list(dict.fromkeys(canonical_id(point_id) for point_id in ids))
    except SightlineError as exc:  # it names "id": name the field instead
        raise validation_error(exc.message, where) from None


@router.get("/collections/{name}/map")
async def collection_map(name: CollectionName, services: ServicesDep, review: ReviewDep) -> JSONResponse:
    """Every point's place on a 2-D map and its cluster (-1: none), with the clusters' labels. Computed in the
    background and cached until the collection changes: 202 with the `task` until it is ready."""
    status, body = await queries.collection_map(services, review, name)
    return JSONResponse(body, status_code=status)


@router.post("/collections/{name}/merge", status_code=202)
async def merge_into(name: CollectionName, body: MergeRequest, services: ServicesDep, review: ReviewDep) -> dict:
    """Copy every point of this collection into `into` (same model; vectors copied, not re-embedded; each file
    once, so merging again adds nothing) in the background: 202 with the `task`, whose `result` once completed
    is `{"merged", "added", "from", "into", "points_count"}` (`added`: images the target did not hold yet). The same merge asked again while it runs answers its task; a
    merge a stop of the service interrupted goes on at its next start under the same task id."""
    return {"state": "merging", "task": (await queries.start_merge(services, review, name, body.into)).to_dict()}


@router.get("/collections/{name}/random")
async def random_points(name: CollectionName, services: ServicesDep,
                        limit: Annotated[int, Query(ge=1, le=100)] = 1) -> dict:
    """Points picked at random ("surprise me")."""
    return {"points": await queries.random_points(services, name, limit)}


@router.get("/review/tasks/{task_id}")
async def review_task(task_id: str, review: ReviewDep) -> dict:
    """A near-duplicate scan's, a map's, a merge's or a copy's progress: `state`, `stage`, `done` of `total`, `percent`,
    `error`, and once completed its `result`."""
    return queries.task_or_404(review, task_id).to_dict()
