"""Sources: folders a collection follows (watched, re-scanned, synced: the index stays true to the disk)."""

from __future__ import annotations

from pathlib import Path, PurePath
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import Field
from starlette.convertors import PathConvertor, register_url_convertor

from sightline.errors import ErrorCode, SightlineError
from sightline.ingest.api import ServicesDep
from sightline.ingest.jobdb.failed import FailedFiles
from sightline.ingest.jobdb.indexed import IndexedFiles
from sightline.ingest.paths import confine, is_inside, path_text
from sightline.ingest.removal import remove_points
from sightline.ingest.schemas import CollectionName, Strict
from sightline.ingest.services import Services
from sightline.ingest.sources.models import Source
from sightline.ingest.sources.sync import stored_files
from sightline.ingest.vectors import SearchFilters

router = APIRouter(prefix="/api/v1/collections/{name}/sources", tags=["sources"])
MAX_RESCAN_MINUTES = 7 * 24 * 60
UNREADABLE_LISTED = 20  # the unreadable files a source's answer names (it counts them all)
ACTIONS = ("sync", "removed")  # the URLs below a source's own
Excludes = Annotated[list[Annotated[str, Field(min_length=1, max_length=300)]], Field(
    max_length=100, description="Globs left out: `*.tmp` or `@eaDir` match a name anywhere; a pattern with '/' "
    "matches the path below the folder (`**/@eaDir/**`, `/raw/*`).")]
Rescan = Annotated[int, Field(ge=0, le=MAX_RESCAN_MINUTES, description="Full re-scan every this many minutes "
                              "(0: never); catches changes no event reported.")]


class SourceCreate(Strict):
    path: str = Field(min_length=1, max_length=4096, description="A folder inside the ingest roots.")
    watch: bool = Field(default=True, description="Ingest changes a few seconds after they settle.")
    exclude: Excludes = []
    rescan_minutes: Rescan = 60


class SourceEdit(Strict):
    watch: bool | None = None
    exclude: Excludes | None = None
    rescan_minutes: Rescan | None = None


async def source_view(services: Services, source: Source) -> dict:
    """The source as answered: state (syncing while a sync job of it is queued or running), its images, the
    last sync job's counts, the files it cannot read (left out of its syncs while unchanged: the newest first,
    each with the job whose errors name it)."""
    if source.last_job_id:
        job = await services.call(services.jobdb.get_job, source.last_job_id)
        if job is not None:
            source.syncing = not job.is_terminal
            source.last_sync = {"job_id": job.job_id, "state": job.state, "counts": job.to_dict()["counts"],
                                "error": job.error}
    source.images = await services.call(services.vectors.count, source.collection,
                                        SearchFilters(folder=source.path))
    source.removed_by_user = await services.call(IndexedFiles(services.jobdb).removed_count, source.collection,
                                                 source.path)
    failed = FailedFiles(services.jobdb)
    source.unreadable = await services.call(failed.count, source.collection, source.path)
    listed = await services.call(failed.listed, source.collection, source.path, UNREADABLE_LISTED)
    source.unreadable_files = [{**item._asdict(), "name": PurePath(item.path).name} for item in listed]
    return source.to_dict()


def not_found(name: str, source_id: str) -> SightlineError:
    return SightlineError(ErrorCode.NOT_FOUND, f"No source {source_id!r} in {name}; GET /api/v1/collections/"
                          f"{name}/sources lists each with its folder.", where="source_id", status=404)


async def source_or_404(services: Services, name: str, source_id: str) -> Source:
    source = await services.call(services.runner.sources.store.get, source_id)
    if source is None or source.collection != name:
        raise not_found(name, source_id)
    return source


async def _check_folder(services: Services, name: str, raw: str) -> str:
    folder = confine(raw, services.settings.roots, where="path")
    if not folder.is_dir():
        raise SightlineError(ErrorCode.NOT_FOUND, f"No folder {raw}.", where="path", status=404)
    if is_inside(folder, [services.settings.uploads_dir.resolve()]):
        raise SightlineError(ErrorCode.VALIDATION_ERROR, "Uploads are Sightline's own; add a folder of yours.",
                             where="path", status=422)
    for other in await services.call(services.runner.sources.store.list, name):
        other_path = Path(other.path)
        if is_inside(folder, [other_path]) or is_inside(other_path, [folder]):
            raise SightlineError(ErrorCode.CONFLICT, f"{path_text(folder)} overlaps the source {other.path} "
                                 f"({other.source_id}); edit that one instead.", where="path", status=409)
    return path_text(folder)


@router.post("", status_code=201)
async def add_source(name: CollectionName, body: SourceCreate, services: ServicesDep) -> dict:
    """Follow a folder; its first sync starts at once (`job_id`)."""
    await services.call(services.vectors.collection_info, name)  # 404 for an unknown collection
    path = await _check_folder(services, name, body.path)
    manager = services.runner.sources
    source = await services.call(manager.store.add, name, path, watch=body.watch,
                                 exclude=[p.strip() for p in body.exclude], rescan_minutes=body.rescan_minutes)
    job = await manager.request_sync(source.source_id, "source added", asked=True)
    manager.follow(source.source_id, None)
    answer = await source_view(services, await source_or_404(services, name, source.source_id))
    return {**answer, "job_id": job.job_id if job else None}


@router.get("")
async def list_sources(name: CollectionName, services: ServicesDep) -> dict:
    await services.call(services.vectors.collection_info, name)
    sources = await services.call(services.runner.sources.store.list, name)
    return {"sources": [await source_view(services, source) for source in sources]}


@router.get("/{source_id}")
async def get_source(name: CollectionName, source_id: str, services: ServicesDep) -> dict:
    return await source_view(services, await source_or_404(services, name, source_id))


@router.patch("/{source_id}")
async def edit_source(name: CollectionName, source_id: str, body: SourceEdit, services: ServicesDep) -> dict:
    """Change watch, exclude or rescan_minutes; the source is followed afresh (and synced) with them."""
    await source_or_404(services, name, source_id)
    changes = body.model_dump(exclude_none=True)
    if "exclude" in changes:
        changes["exclude"] = [p.strip() for p in changes["exclude"]]
    manager = services.runner.sources
    source = await services.call(manager.store.edit, source_id, changes)
    manager.follow(source_id, "source edited")
    return await source_view(services, source)


@router.delete("/{source_id}", status_code=204)
async def remove_source(
    name: CollectionName, source_id: str, services: ServicesDep,
    remove_points_too: Annotated[bool, Query(alias="remove_points", description="Also remove its images from "
                                             "the index (the files on disk are never touched).")] = False,
) -> Response:
    source = await source_or_404(services, name, source_id)
    manager = services.runner.sources
    await manager.unfollow(source_id)
    if source.last_job_id:
        await services.runner.cancel(source.last_job_id)
    await services.call(manager.store.remove, source_id)
    await services.call(IndexedFiles(services.jobdb).clear_removed, name, source.path)
    await services.call(FailedFiles(services.jobdb).drop_folder, name, source.path)
    if remove_points_too:
        stored = await services.call(stored_files, services.vectors, name, source.path)
        ids = [found.point_id for found in stored.values()]
        if ids:
            await services.call(remove_points, services.vectors, services.settings, name, ids)
        await services.call(IndexedFiles(services.jobdb).drop_folder, name, source.path)
    return Response(status_code=204)


@router.post("/{source_id}/sync", status_code=202)
async def sync_source(name: CollectionName, source_id: str, services: ServicesDep) -> dict:
    """Bring the index in line with the folder now (the queued sync, if one is waiting)."""
    await source_or_404(services, name, source_id)
    job = await services.runner.sources.request_sync(source_id, "sync asked for", asked=True)
    if job is None:  # removed meanwhile
        raise not_found(name, source_id)
    return {"job_id": job.job_id, "state": job.state, "url": f"/api/v1/jobs/{job.job_id}"}


@router.delete("/{source_id}/removed")
async def forget_removed(name: CollectionName, source_id: str, services: ServicesDep) -> dict:
    """Forget the files under the source that a person removed from the index (a sync keeps them out while they
    stay unchanged): the sync started now (`job_id`) brings them back."""
    source = await source_or_404(services, name, source_id)
    forgotten = await services.call(IndexedFiles(services.jobdb).clear_removed, name, source.path)
    job = await services.runner.sources.request_sync(source_id, "removals forgotten", asked=True)
    return {"forgotten": forgotten, "job_id": job.job_id if job else None}


class _Unrouted(PathConvertor):
    """What follows `sources/` that no other route takes, even with another method or a trailing slash (those
    keep their 405 and redirect): an id with a '/' in it, such as a folder's path."""

    regex = f"(?![^/]+/?$)(?![^/]+/(?:{'|'.join(ACTIONS)})/?$).+"


register_url_convertor("unrouted", _Unrouted())


@router.api_route("/{source_id:unrouted}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                  include_in_schema=False)
async def no_such_source(name: CollectionName, source_id: str) -> None:
    head, _, action = source_id.rpartition("/")
    raise not_found(name, head if action in ACTIONS and head else source_id)
