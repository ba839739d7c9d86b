"""A new collection from a selection of points (a map area, a duplicates group, the Photos page's Select mode).
The selection is checked before anything is made (every id a UUID of the source, else a 422); then the
collection is created, bound to the source's model, and filled in the background by a review task of kind
`copy` (progress: points copied of the selection), whose result names it. The request waits `QUICK_WAIT_S` for
the task, so a small selection is answered already copied.

No half-made collection is left behind silently: a copy that fails removes the collection it was filling (and
its linked upload copies, thumbnails and review state), and its task's error says so; deleting the collection
while it fills cancels the copy first. A copy is recorded on disk before its collection is made (`pending.py`),
so a service stopped mid-copy (killed, or shut down: `ReviewTasks.shutdown`) goes on with it when it starts
again (`start_review`, which resumes merges too), under the same task id; when the source is gone by then, the
collection is removed, with a log line and the task's error saying so."""

from __future__ import annotations

import logging
import shutil
import sqlite3
import uuid
from collections.abc import Callable
from typing import Any

from sightline.config import IngestSettings
from sightline.errors import ErrorCode, SightlineError
from sightline.ingest.review.context import Review, new_review
from sightline.ingest.review.merge import COPY_PAGE, Copier, collection_exists, copied_uploads
from sightline.ingest.review.pending import PendingCopies, UnfinishedCopy
from sightline.ingest.review.queries import resume_merges
from sightline.ingest.review.tasks import Progress, Task
from sightline.ingest.services import Services
from sightline.ingest.vectors import CollectionParams, VectorStore, canonical_id
from sightline.ingest.vectors.base import validation_error

logger = logging.getLogger(__name__)

MAX_SELECTION = 100_000
QUICK_WAIT_S = 1.0  # about 2,500 points copy in that time on one core


def selected_ids(vectors: VectorStore, source: str, point_ids: list[str]) -> list[str]:
    """The selection's ids, checked page by page (a 422 for an id that is not a UUID or is not in `source`)
    before anything is created; no vector is read here."""
    try:
        wanted = list(dict.fromkeys(canonical_id(point_id) for point_id in point_ids))
    except SightlineError as exc:
        raise validation_error(exc.message, "from_points.point_ids") from None
    for start in range(0, len(wanted), COPY_PAGE):
        page = wanted[start:start + COPY_PAGE]
        found = {point.id for point in vectors.retrieve(source, page)}
        missing = [point_id for point_id in page if point_id not in found]
        if missing:
            raise validation_error(f"{len(missing)} selected point(s) are not in {source!r}, e.g. {missing[0]}",
                                   "from_points.point_ids")
    return wanted


def fill(vectors: VectorStore, settings: IngestSettings, name: str, source: str, ids: list[str],
         progress: Progress) -> dict[str, Any]:
    """Copy the points `ids` of `source` into `name`, a page at a time (memory stays that of one page whatever
    the selection's size); the outcome, as the task's result. Copying again copies nothing twice."""
    progress.start(len(ids), "copying")
    copier = Copier(vectors, settings, name)
    for start in range(0, len(ids), COPY_PAGE):
        page = vectors.retrieve(source, ids[start:start + COPY_PAGE], with_vectors=True)
        copier.copy(page)
        progress.advance(len(page))
    return {"collection": name, "copied": copier.copied, "from": source,
            "points_count": vectors.collection_info(name).points_count}


async def start_copy(services: Services, review: Review, name: str, params: CollectionParams, source: str,
                     ids: list[str]) -> Task:
    """Record the copy, create `name` and start filling it with the checked selection `ids` of `source`; the task
    as it stands after at most `QUICK_WAIT_S`. A 409 while another request makes `name`."""
    pending = PendingCopies(services.settings.data_dir)
    copy = UnfinishedCopy(name, source, ids, uuid.uuid4().hex)
    await services.call(pending.claim, copy)
    try:
        await services.call(services.vectors.create_collection, name, params)
    except BaseException:
        await services.call(pending.forget, name)
        raise
    task = review.tasks.start("copy", source, _filling(services, review, copy), target=name, task_id=copy.task_id)
    return await review.tasks.settled(task, QUICK_WAIT_S)


async def start_review(app_state: Any, services: Services) -> None:
    """The app's review tools, made at startup (`get_review` finds them there), with the copies and merges a
    stop interrupted going on. Unreadable state files are logged, never a failed start."""
    try:
        app_state.review = review = new_review(services.settings)
        await resume_copies(services, review)
        await resume_merges(services, review)
    except (sqlite3.Error, OSError, SightlineError) as exc:
        logger.error("The copies and merges a stop interrupted could not be resumed: %s", exc)


async def stop_review(app_state: Any) -> None:
    """At shutdown, before the stores close: the review tasks stopped (a copy or a merge goes on at the next
    start)."""
    review = getattr(app_state, "review", None)
    if review is not None:
        await review.tasks.shutdown()


async def resume_copies(services: Services, review: Review) -> list[Task]:
    """Start again each copy a stop interrupted, under its task id (copying again adds nothing twice); one whose
    collection is gone (deleted, or never made) is forgotten."""
    pending = PendingCopies(services.settings.data_dir)
    resumed = []
    for copy in await services.call(pending.unfinished):
        if not await services.call(collection_exists, services.vectors, copy.target):
            await services.call(pending.forget, copy.target)
            continue
        logger.warning("The service stopped while copying %d selected points of %r into %r: the copy goes on "
                       "(review task %s).", len(copy.ids), copy.source, copy.target, copy.task_id)
        work = _filling(services, review, copy, resumed=True)
        resumed.append(review.tasks.start("copy", copy.source, work, target=copy.target, task_id=copy.task_id,
                                          resumed=True))
    return resumed


def _filling(services: Services, review: Review, copy: UnfinishedCopy,
             resumed: bool = False) -> Callable[[Progress], dict[str, Any]]:
    """The copy's work: its record goes once the outcome is known, and stays when the service stops."""
    pending = PendingCopies(services.settings.data_dir)

    def work(progress: Progress) -> dict[str, Any]:
        try:
            if resumed and not collection_exists(services.vectors, copy.source):
                raise SightlineError(ErrorCode.NOT_FOUND, f"The service stopped while it copied, and {copy.source!r}"
                                     " is gone since.", where="from_points.collection", status=404)
            outcome = fill(services.vectors, services.settings, copy.target, copy.source, copy.ids, progress)
        except Exception as exc:
            if review.tasks.stopping:  # the record stays
                logger.warning("The service stopped while copying into %r: the copy goes on at its next start.",
                               copy.target)
                raise
            failure = _failure(services, review, copy, exc)
            pending.forget(copy.target)
            if failure is exc:
                raise
            raise failure from exc
        pending.forget(copy.target)
        return outcome

    return work


def _failure(services: Services, review: Review, copy: UnfinishedCopy, exc: Exception) -> Exception:
    """What a failed copy's task says; the collection removed unless a delete of it cancelled the copy."""
    if isinstance(exc, SightlineError):
        if exc.code == ErrorCode.CANCELLED:
            return exc  # by a delete of the collection, which removes it
        return _removed(services, review, copy.target, exc.code, exc.message)
    logger.exception("copying a selection of %s into %s failed", copy.source, copy.target)
    return _removed(services, review, copy.target, ErrorCode.STORE_FAILED, str(exc) or type(exc).__name__)


def _removed(services: Services, review: Review, name: str, code: ErrorCode, reason: str) -> SightlineError:
    """Remove the half-filled collection `name`; the task's error, which says what became of it."""
    try:
        services.vectors.delete_collection(name)
        review.state.forget_collection(name)
        outcome = f"{name!r} was removed: nothing of it is left."
    except SightlineError as exc:
        outcome = (f"{name!r} is gone." if exc.code == ErrorCode.NOT_FOUND
                   else f"{name!r} could not be removed ({exc.message}): delete it.")
    for folder in (copied_uploads(services.settings, name), services.settings.data_dir / "thumbnails" / name):
        shutil.rmtree(folder, ignore_errors=True)
    message = f"Copying the selection into {name!r} failed: {reason} {outcome}"
    logger.warning("%s", message)
    return SightlineError(code, message, where="from_points", status=500)
