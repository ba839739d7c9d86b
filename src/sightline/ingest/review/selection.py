"""A new collection from a selection of points (a map area, a duplicates group, the Photos page's Select mode).
The selection is checked before anything is made (every id a UUID of the source, else a 422); then the
collection is created, bound to the source's model, and filled in the background by a review task of kind
`copy` (progress: points copied of the selection), whose result names it. The request waits `QUICK_WAIT_S` for
the task, so a small selection is answered already copied.

No half-made collection is left behind silently: a copy that fails removes the collection it was filling (and
its linked upload copies, thumbnails and review state), and its task's error says so; deleting the collection
while it fills cancels the copy first. Only a service stopped mid-copy leaves a partly filled collection (the
tasks live in memory); it is an ordinary collection, deleted as any other."""

from __future__ import annotations

import logging
import shutil
from typing import Any

from sightline.config import IngestSettings
from sightline.errors import ErrorCode, SightlineError
from sightline.ingest.review.context import Review
from sightline.ingest.review.merge import COPY_PAGE, Copier, copied_uploads
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
    the selection's size); the outcome, as the task's result."""
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
    """Create `name` and start filling it with the checked selection `ids` of `source`; the task as it stands
    after at most `QUICK_WAIT_S`."""
    await services.call(services.vectors.create_collection, name, params)

    def work(progress: Progress) -> dict[str, Any]:
        try:
            return fill(services.vectors, services.settings, name, source, ids, progress)
        except SightlineError as exc:
            if exc.code == ErrorCode.CANCELLED:
                raise  # by a delete of the collection, which removes it
            raise _removed(services, review, name, exc.code, exc.message) from exc
        except Exception as exc:  # noqa: BLE001 - reported in the task's error, the collection removed
            logger.exception("copying a selection of %s into %s failed", source, name)
            raise _removed(services, review, name, ErrorCode.STORE_FAILED, str(exc) or type(exc).__name__) from exc

    task = review.tasks.start("copy", source, work, target=name)
    return await review.tasks.settled(task, QUICK_WAIT_S)


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
    return SightlineError(code, f"Copying the selection into {name!r} failed: {reason} {outcome}",
                         where="from_points", status=500)
