"""What the review routes and pages answer: duplicate groups, maps, random points. Blocking work runs off the
event loop (`services.call`); scans and maps run as review tasks and are answered with their progress until
they are ready. A merge runs as a review task too, recorded first so that a stop mid-merge (killed, or shut down)
goes on with it at the next start (`resume_merges`)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from typing import Any

from sightline.errors import ErrorCode, SightlineError
from sightline.ingest.api.images import thumbnail_url
from sightline.ingest.review import duplicates
from sightline.ingest.review.context import Review
from sightline.ingest.review.groups import Pair
from sightline.ingest.review.marker import collection_marker
from sightline.ingest.review.merge import check_merge, collection_exists, merge
from sightline.ingest.review.pending import PendingCopies, UnfinishedMerge
from sightline.ingest.review.tasks import Progress, Task
from sightline.ingest.services import Services
from sightline.ingest.vectors import Point

logger = logging.getLogger(__name__)

RETRIEVE_PAGE = 1000
POINT_FIELDS = ("path", "filename", "folder", "width", "height", "format", "bytes", "sort_ts", "date_source",
                "sha256", "caption", "camera")


def describe(collection: str, point: Point) -> dict[str, Any]:
    return {"id": point.id, **{key: point.payload.get(key) for key in POINT_FIELDS},
            "thumbnail_url": thumbnail_url(collection, point.id)}


async def marker(services: Services, name: str) -> str:
    return await services.call(collection_marker, services.vectors, services.jobdb, name)


async def near_pairs(services: Services, review: Review, name: str, threshold: float) -> dict[Pair, float] | Task:
    """The near pairs at `threshold`, or the task scanning for them (started when the last scan is missing,
    older than the collection, or kept too few pairs)."""
    current = await marker(services, name)
    scan = await services.call(review.state.near_scan, name)
    if review.tasks.running("near", name) is None and scan and scan[0] == current and scan[1] <= threshold:
        return await services.call(review.state.near_pairs, name, threshold)
    return start_near_scan(services, review, name, current, threshold)


def start_near_scan(services: Services, review: Review, name: str, current: str, threshold: float) -> Task:
    """The scan of `name` (at its marker `current`) keeping pairs down to `threshold` or `SCAN_FLOOR`; the
    running one if there is one."""
    floor = min(duplicates.SCAN_FLOOR, threshold)

    def work(progress: Progress) -> int:
        pairs = duplicates.scan_near(services.vectors, name, floor, progress, services.settings.roots)
        review.state.save_near(name, current, floor, pairs)
        return len(pairs)

    return review.tasks.start("near", name, work)


async def duplicate_groups(services: Services, review: Review, name: str, kind: duplicates.Kind,
                           threshold: float, limit: int) -> tuple[int, dict[str, Any]]:
    """(status, body): 200 with the groups, or 202 with the scan's task (and the exact groups) while the
    near pairs are being found."""
    exact = await services.call(duplicates.exact_id_groups, services.vectors, name, limit)
    near: dict[Pair, float] | Task = {}
    if kind != "exact":
        near = await near_pairs(services, review, name, threshold)
    if isinstance(near, Task):
        body = await _groups_body(services, review, name, "exact", exact, {}, limit)
        return 202, {**body, "state": "scanning", "task": near.to_dict()}
    body = await _groups_body(services, review, name, kind, exact, near, limit)
    return 200, {**body, "state": "ready", "threshold": threshold}


async def _groups_body(services: Services, review: Review, name: str, kind: duplicates.Kind, exact: list,
                       near: dict[Pair, float], limit: int) -> dict[str, Any]:
    dismissed = await services.call(review.state.dismissed, name)
    points = await retrieve(services, name, sorted(duplicates.member_ids(exact, near)))
    payloads = {point.id: point.payload for point in points.values()}
    groups = duplicates.build_groups(kind, exact, near, dismissed, payloads)
    return {"kind": kind, "total_groups": len(groups), "groups": [
        {**group.to_dict(), "points": [{**describe(name, points[i]), **group.member(i)}
                                       for i in group.point_ids if i in points]}
        for group in groups[:limit]]}


async def retrieve(services: Services, name: str, ids: list[str]) -> dict[str, Point]:
    found: dict[str, Point] = {}
    for start in range(0, len(ids), RETRIEVE_PAGE):
        page = await services.call(services.vectors.retrieve, name, ids[start:start + RETRIEVE_PAGE])
        found.update((point.id, point) for point in page)
    return found


async def collection_map(services: Services, review: Review, name: str) -> tuple[int, dict[str, Any]]:
    """(200, the cached map) while the collection is unchanged; else (202, the task computing it)."""
    current = await marker(services, name)
    cached = await services.call(review.state.cached_map, name, current)
    if cached is not None:
        return 200, {"state": "ready", **cached}

    def work(progress: Progress) -> None:
        # scikit-learn and UMAP load here, not at every start of the service (~1.2 s of CPU)
        from sightline.ingest.review.layout.map import compute_map

        review.state.save_map(name, current, compute_map(services.vectors, name, progress))

    task = review.tasks.running("map", name) or review.tasks.start("map", name, work)
    return 202, {"state": "computing", "task": task.to_dict()}


async def start_merge(services: Services, review: Review, name: str, into: str) -> Task:
    """The merge of `name` into `into`, checked first (404, 422, 409), recorded (`pending.py`: a stop does not
    lose it) and then run as a review task; the running one if this merge already runs; a 409 while `name` is
    being merged elsewhere."""
    await services.call(check_merge, services.vectors, name, into)
    async with review.merge_start:  # no other start of a merge between the look for a running one and the start
        running = review.tasks.running("merge", name)
        if running is not None:
            if running.target != into:
                raise SightlineError(ErrorCode.CONFLICT, f"{name!r} is being merged into {running.target!r}: wait "
                                     "for it to finish.", where="into", status=409)
            return running
        record = UnfinishedMerge(name, into, uuid.uuid4().hex)
        await services.call(PendingCopies(services.settings.data_dir).record_merge, record)
        return review.tasks.start("merge", name, _merging(services, review, record), target=into,
                                  task_id=record.task_id)


async def resume_merges(services: Services, review: Review) -> list[Task]:
    """Start again each merge a stop interrupted, under its task id (merging again adds nothing twice)."""
    resumed = []
    for record in await services.call(PendingCopies(services.settings.data_dir).unfinished_merges):
        logger.warning("The service stopped while merging %r into %r: the merge goes on (review task %s).",
                       record.source, record.target, record.task_id)
        work = _merging(services, review, record, resumed=True)
        resumed.append(review.tasks.start("merge", record.source, work, target=record.target,
                                          task_id=record.task_id, resumed=True))
    return resumed


def _merging(services: Services, review: Review, record: UnfinishedMerge,
             resumed: bool = False) -> Callable[[Progress], dict[str, Any]]:
    """The merge's work, then the folders the source follows followed by the target too; the record goes once
    the outcome is known, and stays when the service stops. A resumed merge whose source or target is gone is
    dropped, and its task's error says so."""
    pending, loop = PendingCopies(services.settings.data_dir), asyncio.get_running_loop()

    def work(progress: Progress) -> dict[str, Any]:
        try:
            if resumed:
                _check_still_there(services, record)
            outcome = merge(services.vectors, services.settings, record.source, record.target, progress)
            following = services.runner.sources.copy_sources(record.source, record.target)
            outcome["sources"] = asyncio.run_coroutine_threadsafe(following, loop).result()
        except Exception:
            if review.tasks.stopping:
                logger.warning("The service stopped while merging %r into %r: the merge goes on at its next start.",
                               record.source, record.target)
            else:
                pending.forget_merge(record.task_id)
            raise
        pending.forget_merge(record.task_id)
        return outcome

    return work


def _check_still_there(services: Services, record: UnfinishedMerge) -> None:
    for name, where in ((record.source, "name"), (record.target, "into")):
        if not collection_exists(services.vectors, name):
            message = (f"The service stopped while it merged {record.source!r} into {record.target!r}, and {name!r}"
                       " is gone since: the merge is dropped.")
            logger.warning("%s", message)
            raise SightlineError(ErrorCode.NOT_FOUND, message, where=where, status=404)


async def random_points(services: Services, name: str, limit: int) -> list[dict[str, Any]]:
    points = await services.call(services.vectors.sample, name, limit)
    return [describe(name, point) for point in points]


def task_or_404(review: Review, task_id: str) -> Task:
    task = review.tasks.get(task_id)
    if task is None:
        raise SightlineError(ErrorCode.NOT_FOUND, f"No review task {task_id!r}.", where="task_id", status=404)
    return task
