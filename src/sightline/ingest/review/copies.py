"""Copies follow their originals. A collection made from a selection (or the target of a merge, for the files
it took along) holds points of files that another collection follows as a source. After that collection's
sync changed something under its folder, `follow_copies` brings every copy along, by path:

- the same path, other content in the followed collection (the file changed and was embedded again): the
  copy takes the new vector and payload;
- a path the followed collection no longer holds, whose content it now holds under a path the copy does not
  (the file moved): the copy moves too;
- otherwise, when the file is gone from disk: the copy's point and thumbnails are removed.

A copy of a file the followed collection does not hold for another reason (a person removed it there, an
exclude pattern) is left as it is. A collection that follows the folder itself (a merge's target does), a folder
above it or one inside it is left to its own syncs. Blocking: run it in a thread.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from pathlib import Path

from sightline.config import IngestSettings
from sightline.errors import SightlineError
from sightline.ingest.jobdb import JobStore
from sightline.ingest.paths import is_inside
from sightline.ingest.removal import remove_points
from sightline.ingest.review.merge import Copier, check_compatible
from sightline.ingest.sources.store import SourceStore
from sightline.ingest.sources.sync import gone
from sightline.ingest.vectors import Point, SearchFilters, VectorStore, point_id_for
from sightline.ingest.vectors._common import SCROLL_PAGE

COPY_KEYS = ["path", "sha256"]


def follow_after_sync(vectors: VectorStore, settings: IngestSettings, jobdb: JobStore, collection: str,
                      source_id: str) -> dict[str, Counter[str]]:
    """`follow_copies` for the folder of the source `source_id` that `collection` has just synced."""
    sources = SourceStore(jobdb)
    source = sources.get(source_id)
    if source is None:
        return {}
    folder = Path(source.path)
    following = {s.collection for s in sources.list()  # their own syncs keep their files: leave them be
                 if is_inside(folder, [Path(s.path)]) or is_inside(Path(s.path), [folder])}
    return follow_copies(vectors, settings, collection, source.path, following)


def follow_copies(vectors: VectorStore, settings: IngestSettings, followed: str, folder: str,
                  self_following: Collection[str] = ()) -> dict[str, Counter[str]]:
    """Bring the copies of `followed`'s files under `folder` along in every other collection of the same model
    except `self_following`: collection → how many were updated, moved and removed (those with none left out)."""
    outcome: dict[str, Counter[str]] = {}
    followed_info = vectors.collection_info(followed)
    for info in vectors.list_collections():
        if info.name == followed or info.name in self_following or info.error or not _same_model(followed_info, info):
            continue
        if vectors.count(info.name, SearchFilters(folder=folder)):
            changes = _follow(vectors, settings, followed, info.name, folder)
            if changes:
                outcome[info.name] = changes
    return outcome


def _same_model(a: object, b: object) -> bool:
    try:
        check_compatible(a, b)  # type: ignore[arg-type]
    except SightlineError:
        return False
    return True


def _follow(vectors: VectorStore, settings: IngestSettings, followed: str, copy: str, folder: str) -> Counter[str]:
    outcome: Counter[str] = Counter()
    copier = Copier(vectors, settings, copy)
    offset = None
    while True:
        page, offset = vectors.scroll(copy, limit=SCROLL_PAGE, offset=offset, filters=SearchFilters(folder=folder),
                                      payload_keys=COPY_KEYS)
        originals = _originals(vectors, followed, [point.payload["path"] for point in page])
        for point in page:
            outcome[_bring_along(vectors, settings, copier, followed, point, originals.get(point.payload["path"]))] += 1
        if offset is None:
            outcome.pop("unchanged", None)
            outcome.pop("kept", None)
            return outcome


def _originals(vectors: VectorStore, followed: str, paths: list[str]) -> dict[str, Point]:
    points = vectors.retrieve(followed, [point_id_for(followed, path) for path in paths], with_vectors=True)
    return {point.payload["path"]: point for point in points}


def _bring_along(vectors: VectorStore, settings: IngestSettings, copier: Copier, followed: str, copy: Point,
                 original: Point | None) -> str:
    if original is not None:
        if original.payload.get("sha256") == copy.payload.get("sha256"):
            return "unchanged"
        copier.copy([original])
        return "updated"
    moved = _moved_to(vectors, followed, copier.target, copy.payload.get("sha256"))
    if moved is not None:
        copier.copy([moved])
        remove_points(vectors, settings, copier.target, [copy.id])  # its thumbnails too
        return "moved"
    if gone(copy.payload["path"]):
        remove_points(vectors, settings, copier.target, [copy.id])
        return "removed"
    return "kept"


def _moved_to(vectors: VectorStore, followed: str, copy: str, sha256: str | None) -> Point | None:
    """The followed collection's point with this content under a path the copy does not hold yet."""
    if not sha256:
        return None
    candidates, _ = vectors.scroll(followed, limit=SCROLL_PAGE, filters=SearchFilters(sha256=sha256),
                                   with_vectors=True)
    held = {point.id for point in vectors.retrieve(
        copy, [point_id_for(copy, point.payload["path"]) for point in candidates])}
    return next((point for point in candidates if point_id_for(copy, point.payload["path"]) not in held), None)
