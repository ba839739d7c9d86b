"""The payload schema: what every point stores besides its vector, written and read only here."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sightline.ingest.pipeline.work import Embedding, FileWork
from sightline.ingest.vectors import Point

MODEL_FIELDS = ("embedding_model", "caption_model", "caption_kind", "device")


def model_fields(source: dict[str, Any]) -> dict[str, Any]:
    """The model provenance carried into each payload, from an ML result or an earlier payload."""
    return {key: source.get(key) for key in MODEL_FIELDS}


def build_payload(work: FileWork, collection: str, job_id: str, ingested_at: datetime) -> dict[str, Any]:
    assert work.embedding is not None
    path = Path(work.record.path)
    folder = path.parent
    meta = work.metadata
    camera = " ".join(part for part in (meta.get("camera_make"), meta.get("camera_model")) if part) or None
    return {
        **meta,
        "path": str(path),
        "folder": str(folder),
        "folder_prefixes": [str(folder), *(str(parent) for parent in folder.parents)],
        "filename": path.name,
        "bytes": work.size,
        "mtime_ns": work.mtime_ns,
        "sha256": work.sha256,
        "camera": camera,
        "caption": work.embedding.caption,
        **work.embedding.provenance,
        "collection": collection,
        "job_id": job_id,
        "ingested_at": ingested_at.isoformat(),
    }


def same_file(payload: dict[str, Any], work: FileWork) -> bool:
    """The stored point describes the file as it is now (same size and modification time)."""
    return payload.get("bytes") == work.size and payload.get("mtime_ns") == work.mtime_ns


def stored_embedding(point: Point) -> Embedding | None:
    """The embedding of a stored point, to reuse for a file with the same content."""
    if point.vector is None:
        return None
    return Embedding(point.vector, point.payload.get("caption"), model_fields(point.payload))
