"""Removing images from the index (the one place for it; the API's single and batch routes both call
`remove_points`): their points, their cached thumbnails and, for an uploaded image, Sightline's own copy of the
file under the uploads dir. Originals under the ingest roots are never deleted or modified.

A removal a person asks for is remembered (`remember`: the job store; `jobdb.indexed`): a source's sync keeps
that file out of the index while its size and mtime stay those it had; a changed file, a scan job naming it,
or clearing the source's removals brings it back."""

from __future__ import annotations

import os
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field

from sightline.config import IngestSettings
from sightline.errors import SightlineError
from sightline.ingest.jobdb import JobStore
from sightline.ingest.jobdb.indexed import IndexedFiles
from sightline.ingest.paths import fs_path, is_inside
from sightline.ingest.schemas import CollectionName, Strict
from sightline.ingest.vectors import Point, VectorStore, canonical_id
from sightline.ingest.vectors.base import validation_error

MAX_POINT_IDS = 1000


class ImagesDelete(Strict):
    collection: CollectionName
    point_ids: list[str] = Field(min_length=1, max_length=MAX_POINT_IDS,
                                 description=f"1-{MAX_POINT_IDS} point ids (UUIDs) of that collection.")


@dataclass
class Removal:
    deleted: list[str]
    missing: list[str]


def remove_points(vectors: VectorStore, settings: IngestSettings, name: str, ids: list[str], *,
                  remember: JobStore | None = None) -> Removal:
    """Delete the points `ids` of collection `name` that exist, then their thumbnails and uploaded copies.
    Blocking (run it in a thread). An id that is not a UUID is a 422 on `point_ids` before anything is removed;
    an unknown collection is a 404. `remember`: a person asked for it (see the module)."""
    wanted = list(dict.fromkeys(_canonical(ids)))
    points = vectors.retrieve(name, wanted)
    found = {point.id for point in points}
    if found:
        vectors.delete_points(name, list(found))
    uploads = {point.id for point in points if _forget_files(settings, name, point)}
    if remember is not None:
        _remember(IndexedFiles(remember), name, points, uploads)
    return Removal(deleted=[i for i in wanted if i in found], missing=[i for i in wanted if i not in found])


def _remember(indexed: IndexedFiles, name: str, points: list[Point], uploads: set[str]) -> None:
    """Files under the ingest roots: kept out while unchanged; uploaded copies (deleted with the point): forgotten."""
    files = [(point.payload["path"], point.payload.get("bytes"), point.payload.get("mtime_ns"), point.id in uploads)
             for point in points if isinstance(point.payload.get("path"), str)]
    indexed.remember_removed(name, [(path, size, mtime_ns) for path, size, mtime_ns, uploaded in files if not uploaded])
    indexed.forget(name, [path for path, _, _, uploaded in files if uploaded])


def _canonical(ids: list[str]) -> list[str]:
    try:
        return [canonical_id(point_id) for point_id in ids]
    except SightlineError as exc:
        raise validation_error(exc.message, "point_ids") from None


def _forget_files(settings: IngestSettings, name: str, point: Point) -> bool:
    """Whether the file was Sightline's own upload copy (deleted with it: nothing to remember)."""
    for cached in (settings.data_dir / "thumbnails" / name).glob(f"{point.id}-*"):
        cached.unlink(missing_ok=True)
    uploaded = uploaded_copy(settings, point.payload.get("path"))
    if uploaded is not None:
        uploaded.unlink(missing_ok=True)
        with suppress(OSError):  # the upload's folder goes with its last file
            uploaded.parent.rmdir()
    return uploaded is not None


def uploaded_copy(settings: IngestSettings, path: object) -> Path | None:
    """The file of `path` (a payload's text form) when it is Sightline's own copy of an upload: a plain file
    inside the uploads dir (links and anything outside it are left alone); None otherwise."""
    if not isinstance(path, str) or not path or "\x00" in path:
        return None
    uploads = settings.uploads_dir.resolve()
    candidate = Path(os.path.normpath(fs_path(path)))
    if not candidate.is_absolute() or not is_inside(candidate.parent, [uploads]) or candidate.parent == uploads:
        return None
    with suppress(OSError, ValueError, RuntimeError):
        if is_inside(candidate.parent.resolve(), [uploads]) and candidate.is_file() and not candidate.is_symlink():
            return candidate
    return None
