"""Collections from collections: merge one into another, or copy a selection of points into a new one. Vectors
are copied, never re-embedded; each point gets the id the target would give its file, so it is there exactly
once however often it is copied (a second merge of the same pair changes nothing). Sightline's own copies of
uploaded files are linked into the target's own folder of the uploads dir (`copied-<target>`, the same one each
time), so they stay when the source collection (and its uploads) is deleted. Blocking: merges and copies run as
review tasks (`review/tasks.py`), with progress, started (and resumed after a stop) by `review/queries.py`; a
selection's copy is `review/selection.py`."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from sightline.config import IngestSettings
from sightline.errors import ErrorCode, SightlineError
from sightline.ingest.model_match import SIGNATURE_KEYS
from sightline.ingest.removal import uploaded_copy
from sightline.ingest.review.tasks import Progress
from sightline.ingest.vectors import CollectionInfo, Point, VectorStore, point_id_for
from sightline.ingest.vectors.base import validation_error

COPY_PAGE = 2000  # points per read and write: fewer, larger writes (each flushes the store) copy faster


def check_compatible(source: CollectionInfo, target: CollectionInfo) -> None:
    """Vectors may only meet vectors of the same model, dimension and distance."""
    a, b = source.params, target.params
    signature = [(key, a.metadata.get(key), b.metadata.get(key)) for key in SIGNATURE_KEYS]
    differs = [key for key, x, y in signature if x is not None and y is not None and x != y]
    if a.vector_size != b.vector_size or a.distance != b.distance or differs:
        raise SightlineError(ErrorCode.MODEL_MISMATCH, f"{source.name!r} ({a.metadata.get('embedding_model')}, "
                             f"{a.vector_size}-d, {a.distance}) and {target.name!r} ({b.metadata.get('embedding_model')}"
                             f", {b.vector_size}-d, {b.distance}) hold vectors of different models: they cannot be "
                             "merged.", where="into", status=409)


def copied_uploads(settings: IngestSettings, collection: str) -> Path:
    """Where the uploaded files copied into `collection` (by merges and selections) are linked: deleted with it."""
    return settings.uploads_dir / f"copied-{collection}"


class Copier:
    """Copies points into `target`, linking uploaded files into the target's folder of the uploads dir."""

    def __init__(self, vectors: VectorStore, settings: IngestSettings, target: str):
        self.vectors, self.settings, self.target = vectors, settings, target
        self.uploads = copied_uploads(settings, target)
        # Only a path under the uploads dir may be an upload: the string test spares the others the file checks.
        self.upload_roots = (str(settings.uploads_dir), str(settings.uploads_dir.resolve()))
        self.copied = 0

    def copy(self, points: list[Point]) -> None:
        self.vectors.upsert(self.target, [self._moved(point) for point in points])
        self.copied += len(points)

    def _moved(self, point: Point) -> Point:
        payload = dict(point.payload, collection=self.target)
        path = payload.get("path")
        uploaded = uploaded_copy(self.settings, path) if str(path).startswith(self.upload_roots) else None
        if uploaded is not None:
            payload.update(_path_fields(self._link(uploaded)))
        return Point(point_id_for(self.target, str(payload.get("path"))), point.vector, payload)

    def _link(self, uploaded: Path) -> Path:
        destination = self.uploads / uploaded.parent.name / uploaded.name
        destination.parent.mkdir(parents=True, exist_ok=True)
        if not destination.exists():
            try:
                os.link(uploaded, destination)
            except OSError:
                shutil.copy2(uploaded, destination)
        return destination


def _path_fields(path: Path) -> dict:
    folder = path.parent
    return {"path": str(path), "folder": str(folder), "filename": path.name,
            "folder_prefixes": [str(folder), *(str(parent) for parent in folder.parents)]}


def collection_exists(vectors: VectorStore, name: str) -> bool:
    try:
        vectors.collection_info(name)
    except SightlineError as exc:
        if exc.code == ErrorCode.NOT_FOUND:
            return False
        raise
    return True


def check_merge(vectors: VectorStore, source: str, into: str) -> CollectionInfo:
    """The source's info, once both collections exist (404), differ (422) and hold the same model (409)."""
    if source == into:
        raise validation_error("a collection cannot be merged into itself", "into")
    source_info = vectors.collection_info(source)
    check_compatible(source_info, vectors.collection_info(into))
    return source_info


def merge(vectors: VectorStore, settings: IngestSettings, source: str, into: str, progress: Progress) -> dict:
    """Copy every point of `source` into `into`, a page at a time; the outcome, as the task's result."""
    progress.start(check_merge(vectors, source, into).points_count, f"copying into {into}")
    before = vectors.collection_info(into).points_count
    copier = Copier(vectors, settings, into)
    offset = None
    while True:
        page, offset = vectors.scroll(source, limit=COPY_PAGE, offset=offset, with_vectors=True)
        copier.copy(page)
        progress.advance(len(page))
        if offset is None:
            break
    after = vectors.collection_info(into).points_count
    return {"merged": copier.copied, "added": after - before, "from": source, "into": into, "points_count": after}
