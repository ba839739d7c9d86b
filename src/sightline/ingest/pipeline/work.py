"""What one file carries from stage to stage, and the stable id of its point."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from sightline.ingest.jobdb import FileRecord, FileState
from sightline.ingest.vectors import point_id_for  # noqa: F401  (the pipeline's name for it)

@dataclass(frozen=True)
class Embedding:
    """What the ML service made of some content; any file with the same content can reuse it."""

    vector: list[float]
    caption: str | None
    provenance: dict[str, Any]  # the model fields of the payload (see payload.model_fields)
    phash: str | None = None  # the perceptual hash of the content (imaging/phash.py), when the ML service sent one


class RecentContent(OrderedDict[str, Embedding]):
    """content hash → embedding of the last `capacity` contents a job embedded: memory stays flat over a job of
    any size (an older content is found in the store instead, `Fingerprinter._stored_embedding`)."""

    def __init__(self, capacity: int):
        super().__init__()
        self.capacity = capacity

    def __setitem__(self, key: str, value: Embedding) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self.capacity:
            self.popitem(last=False)


@dataclass
class FileWork:
    record: FileRecord
    point_id: str
    state: FileState = "pending"  # → done (embedded) | cached (reused) | skipped (unchanged) | failed
    data: bytes | None = None  # the file's bytes, from reading until the ML service has them
    size: int | None = None
    mtime_ns: int | None = None  # integer: payload floats do not round-trip exactly
    sha256: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    embedding: Embedding | None = None
    reuse_of: FileWork | None = None  # identical content earlier in the same batch
    error: tuple[str, str, str] | None = None  # stage, code, message

    @property
    def ready(self) -> bool:
        """Has an embedding to store (a file found stored by its own job before a stop is done, with none)."""
        return self.state in ("done", "cached") and self.embedding is not None

    def fail(self, stage: str, code: str, message: str) -> None:
        self.state = "failed"
        self.error = (stage, code, message)
        self.data = None

    def reuse(self, embedding: Embedding) -> None:
        self.embedding = embedding
        self.state = "cached"
        self.data = None
