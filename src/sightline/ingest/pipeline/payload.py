"""The payload schema: what every point stores besides its vector, written and read only here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path, PurePath
from typing import Any

from sightline.ingest.pipeline.work import Embedding, FileWork
from sightline.ingest.vectors import Point
from sightline.ingest.words import photo_words

MODEL_FIELDS = ("embedding_model", "caption_model", "caption_kind", "device")


def model_fields(source: dict[str, Any]) -> dict[str, Any]:
    """The model provenance carried into each payload, from an ML result or an earlier payload."""
    return {key: source.get(key) for key in MODEL_FIELDS}


def build_payload(work: FileWork, collection: str, job_id: str, ingested_at: datetime, *,
                  roots: Sequence[PurePath | str] = ()) -> dict[str, Any]:
    """The point's payload; `roots` (the ingest roots) make the folder's words relative to the root that
    holds it, so a library under /srv/photos does not give every photo the words "srv" and "photos"."""
    assert work.embedding is not None
    path = Path(work.record.path)
    folder = path.parent
    meta = work.metadata
    taken = meta.get("taken_at_ts")
    payload = {
        **meta,
        "path": str(path),
        "folder": str(folder),
        "folder_prefixes": [str(folder), *(str(parent) for parent in folder.parents)],
        "filename": path.name,
        "bytes": work.size,
        "mtime_ns": work.mtime_ns,
        "sha256": work.sha256,
        "camera": camera_name(meta.get("camera_make"), meta.get("camera_model")),
        # what browsing sorts on: the taken date, else the file's modification time ("date_source" says which)
        "sort_ts": sort_seconds(taken if taken is not None else work.mtime_ns / 1e9),
        "date_source": "taken" if taken is not None else "file",
        "caption": work.embedding.caption,
        "phash": work.embedding.phash,
        **work.embedding.provenance,
        "collection": collection,
        "job_id": job_id,
        "ingested_at": ingested_at.isoformat(),
    }
    payload["words"] = photo_words(payload, roots)
    return payload


def sort_seconds(seconds: float) -> float:
    """A date as browsing sorts on it: to the millisecond. Paging compares these values exactly, and a float
    with 17 significant digits does not always come back from the store's engine bit for bit (1 page in 9
    lost a photo at the page edge, measured); 13 digits always do."""
    return round(float(seconds), 3)


def camera_name(make: str | None, model: str | None) -> str | None:
    """"Canon EOS R5", not "Canon Canon EOS R5": the make is left out when the model already starts with it
    ("NIKON CORPORATION" + "NIKON D750" → "NIKON D750")."""
    make, model = (make or "").strip(), (model or "").strip()
    if make and model:
        first_word = make.split()[0].lower()
        if model.lower().startswith(first_word):
            return model
    return " ".join(part for part in (make, model) if part) or None


def same_file(payload: dict[str, Any], work: FileWork) -> bool:
    """The stored point describes the file as it is now (same size and modification time)."""
    return payload.get("bytes") == work.size and payload.get("mtime_ns") == work.mtime_ns


def stored_embedding(point: Point) -> Embedding | None:
    """The embedding of a stored point, to reuse for a file with the same content."""
    if point.vector is None:
        return None
    return Embedding(point.vector, point.payload.get("caption"), model_fields(point.payload),
                     point.payload.get("phash"))
