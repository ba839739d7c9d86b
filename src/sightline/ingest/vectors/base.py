"""The vector store: one small interface, two implementations.

- `EdgeStore` (`store_edge.py`, the default): qdrant-edge-py, Qdrant's Rust engine in process, one
  `EdgeShard` per collection under ``<data_dir>/collections/<name>/``.
- `QdrantStore` (`store_qdrant.py`): qdrant-client against a Qdrant server (``http(s)://...``), or its
  local mode (``local:<path>``), which speaks the same API and stands in for a server in tests.

Every method is synchronous and thread-safe: the ingestion service calls them from a thread pool.
Every backend failure is raised as `StoreError` (``STORE_FAILED``, 503, retriable); unknown collections
as `CollectionNotFound` (404), duplicates as `CollectionExists` (409), bad input as a
``VALIDATION_ERROR`` (422).

Point ids are UUID strings. They are returned in canonical form (lower-case, hyphenated), so a caller
that passes ``str(uuid.uuid5(...))`` gets back exactly the string it passed.
"""

from __future__ import annotations

import math
import re
import uuid
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from sightline.errors import ErrorCode, SightlineError

__all__ = [
    "COLLECTION_NAME_PATTERN",
    "CollectionExists",
    "CollectionInfo",
    "CollectionNotFound",
    "CollectionParams",
    "Distance",
    "INDEXED_FLOAT_FIELDS",
    "INDEXED_KEYWORD_FIELDS",
    "Point",
    "ScoredPoint",
    "SearchFilters",
    "StoreError",
    "VectorStore",
    "open_store",
    "validate_collection_name",
]

Distance = Literal["Cosine", "Dot", "Euclid", "Manhattan"]
DISTANCES: tuple[str, ...] = get_args(Distance)
Quantization = Literal["int8"]

COLLECTION_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
"""Collection names: 1-64 characters, a letter or digit first, then letters, digits, ``_`` and ``-``.
Always matched with ``fullmatch`` (``$`` would let a trailing newline through)."""

# Payload fields the service filters on; every new collection gets an index on each.
INDEXED_KEYWORD_FIELDS: tuple[str, ...] = ("camera", "folder_prefixes", "format", "sha256", "path")
INDEXED_FLOAT_FIELDS: tuple[str, ...] = ("taken_at_ts",)

MAX_VECTOR_SIZE = 65536


# --------------------------------------------------------------------------------------------------
# Errors


class CollectionNotFound(SightlineError):
    def __init__(self, name: str):
        super().__init__(
            ErrorCode.NOT_FOUND, f"collection {name!r} does not exist", where="collection", status=404
        )


class CollectionExists(SightlineError):
    def __init__(self, name: str):
        super().__init__(
            ErrorCode.CONFLICT, f"collection {name!r} already exists", where="collection", status=409
        )


class StoreError(SightlineError):
    """Any failure of the vector store backend (retriable: the store may come back)."""

    def __init__(self, message: str, *, where: str | None = None):
        super().__init__(ErrorCode.STORE_FAILED, message, where=where, status=503)


def _invalid(message: str, where: str) -> SightlineError:
    return SightlineError(ErrorCode.VALIDATION_ERROR, message, where=where, status=422)


def validate_collection_name(name: str) -> str:
    """Return ``name`` if it is a valid collection name, else raise a 422 ``VALIDATION_ERROR``.

    Names become folder names of the embedded store, so this is also the guard against path traversal.
    """
    if not isinstance(name, str) or not COLLECTION_NAME_PATTERN.fullmatch(name):
        raise _invalid(
            f"invalid collection name {name!r}: 1-64 characters, letters, digits, '_' and '-', "
            "starting with a letter or digit",
            "name",
        )
    return name


def canonical_id(point_id: Any) -> str:
    """A point id as a canonical UUID string; a 422 ``VALIDATION_ERROR`` if it is not a UUID."""
    try:
        return str(point_id if isinstance(point_id, uuid.UUID) else uuid.UUID(str(point_id)))
    except (ValueError, TypeError, AttributeError):
        raise _invalid(f"point id {point_id!r} is not a UUID", "id") from None


# --------------------------------------------------------------------------------------------------
# Data


@dataclass
class CollectionParams:
    vector_size: int
    distance: Distance = "Cosine"
    on_disk: bool = False  # vectors + payload on disk (memory-mapped, not pre-loaded) instead of RAM
    hnsw_m: int = 16
    hnsw_ef_construct: int = 100
    quantization: Quantization | None = None
    # e.g. {"backend": "lite", "embedding_model": "...", "dimension": 384}; persisted, returned by info.
    metadata: dict = field(default_factory=dict)

    def validate(self) -> CollectionParams:
        """Raise a 422 ``VALIDATION_ERROR`` naming the first bad field; return self otherwise."""
        if isinstance(self.vector_size, bool) or not isinstance(self.vector_size, int):
            raise _invalid("vector_size must be an integer", "vector_size")
        if not 1 <= self.vector_size <= MAX_VECTOR_SIZE:
            raise _invalid(f"vector_size must be between 1 and {MAX_VECTOR_SIZE}", "vector_size")
        if self.distance not in DISTANCES:
            raise _invalid(f"distance must be one of {', '.join(DISTANCES)}", "distance")
        if not isinstance(self.on_disk, bool):
            raise _invalid("on_disk must be true or false", "on_disk")
        if isinstance(self.hnsw_m, bool) or not isinstance(self.hnsw_m, int) or not 0 <= self.hnsw_m <= 128:
            raise _invalid("hnsw m must be an integer between 0 and 128", "hnsw_m")
        if (
            isinstance(self.hnsw_ef_construct, bool)
            or not isinstance(self.hnsw_ef_construct, int)
            or not 4 <= self.hnsw_ef_construct <= 4096
        ):
            raise _invalid("hnsw ef_construct must be an integer between 4 and 4096", "hnsw_ef_construct")
        if self.quantization not in (None, "int8"):
            raise _invalid("quantization must be 'int8' or null", "quantization")
        if not isinstance(self.metadata, dict):
            raise _invalid("metadata must be an object", "metadata")
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> CollectionParams:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class CollectionInfo:
    name: str
    params: CollectionParams
    points_count: int
    status: str  # "green" / "yellow" / "red" / "grey" from a Qdrant server, "ok" from the edge shard
    backend: str  # "embedded" or "qdrant"
    # CollectionParams fields this backend accepted and stored but does not apply (now).
    ignored_params: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "params": self.params.to_dict(),
            "points_count": self.points_count,
            "status": self.status,
            "backend": self.backend,
            "ignored_params": list(self.ignored_params),
        }


@dataclass
class Point:
    id: str  # a UUID string
    vector: list[float] | None
    payload: dict = field(default_factory=dict)


@dataclass
class ScoredPoint:
    id: str
    score: float
    payload: dict


@dataclass
class SearchFilters:
    taken_after: float | None = None  # unix seconds, payload "taken_at_ts" >= (inclusive)
    taken_before: float | None = None  # payload "taken_at_ts" <= (inclusive)
    camera: str | None = None  # exact match on payload "camera" ("Make Model")
    folder: str | None = None  # one of payload "folder_prefixes" (every ancestor folder: subfolders match)
    format: str | None = None  # exact match on payload "format"
    sha256: str | None = None  # exact match on payload "sha256"
    path: str | None = None  # exact match on payload "path"

    def conditions(self) -> list[tuple[str, str, Any]]:
        """Backend-neutral conditions, all of which must hold: ``("match", key, value)`` or
        ``("range", key, (gte, lte))``."""
        out: list[tuple[str, str, Any]] = []
        if self.taken_after is not None or self.taken_before is not None:
            lo = None if self.taken_after is None else _finite(self.taken_after, "taken_after")
            hi = None if self.taken_before is None else _finite(self.taken_before, "taken_before")
            out.append(("range", "taken_at_ts", (lo, hi)))
        for attr, key in (
            ("camera", "camera"),
            ("folder", "folder_prefixes"),
            ("format", "format"),
            ("sha256", "sha256"),
            ("path", "path"),
        ):
            value = getattr(self, attr)
            if value is not None:
                if not isinstance(value, str):
                    raise _invalid(f"filter {attr} must be a string", attr)
                out.append(("match", key, value))
        return out


def _finite(value: Any, where: str) -> float:
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise _invalid(f"filter {where} must be a number", where) from None
    if not math.isfinite(f):
        raise _invalid(f"filter {where} must be finite", where)
    return f


def check_limit(limit: int, where: str = "limit") -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise _invalid(f"{where} must be a positive integer", where)
    return limit


def vector_as_list(vector: Any, size: int, where: str = "vector") -> list[float]:
    """A vector as a list of floats of the collection's size; a 422 ``VALIDATION_ERROR`` otherwise."""
    if vector is None:
        raise _invalid("a vector is required", where)
    if hasattr(vector, "tolist"):  # numpy
        vector = vector.tolist()
    elif not isinstance(vector, list):
        vector = list(vector)
    if len(vector) != size:
        raise _invalid(f"vector has {len(vector)} dimensions, the collection expects {size}", where)
    return vector


# --------------------------------------------------------------------------------------------------
# Interface


class VectorStore(ABC):
    """Collections of image vectors with payloads. Synchronous and thread-safe."""

    backend: str

    @abstractmethod
    def list_collections(self) -> list[CollectionInfo]: ...

    @abstractmethod
    def create_collection(self, name: str, params: CollectionParams) -> CollectionInfo:
        """Create a collection with payload indexes on the filter fields (keyword: camera,
        folder_prefixes, format, sha256, path; float: taken_at_ts)."""

    @abstractmethod
    def collection_info(self, name: str) -> CollectionInfo: ...

    @abstractmethod
    def delete_collection(self, name: str) -> None: ...

    @abstractmethod
    def upsert(self, name: str, points: list[Point]) -> None:
        """Insert or replace points by id; durable once it returns."""

    @abstractmethod
    def delete_points(self, name: str, ids: list[str]) -> None: ...

    @abstractmethod
    def retrieve(self, name: str, ids: list[str], with_vectors: bool = False) -> list[Point]:
        """The points that exist, in the order asked for; missing ids are simply absent."""

    @abstractmethod
    def search(
        self,
        name: str,
        vector: list[float],
        *,
        limit: int = 20,
        score_threshold: float | None = None,
        filters: SearchFilters | None = None,
    ) -> list[ScoredPoint]:
        """Nearest first. Scores are the backend's: for Cosine and Dot higher is better (and
        ``score_threshold`` is a minimum); for Euclid and Manhattan they are distances (a maximum)."""

    @abstractmethod
    def scroll(
        self,
        name: str,
        *,
        limit: int = 100,
        offset: str | None = None,
        filters: SearchFilters | None = None,
        with_vectors: bool = False,
    ) -> tuple[list[Point], str | None]:
        """A page of points in id order and the offset of the next page (None after the last)."""

    @abstractmethod
    def count(self, name: str, filters: SearchFilters | None = None) -> int: ...

    @abstractmethod
    def facet(self, name: str, key: str, limit: int = 50) -> list[tuple[str, int]]:
        """Distinct values of a keyword payload field with their counts, most frequent first."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> VectorStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def sort_facets(counts: dict[Any, int], limit: int) -> list[tuple[str, int]]:
    # The edge shard's facet keeps values whose points were all deleted, with a count of 0.
    items = sorted(
        ((str(k), int(v)) for k, v in counts.items() if v > 0), key=lambda kv: (-kv[1], kv[0])
    )
    return items[:limit]


def open_store(
    data_dir: Path,
    qdrant_url: str | None = None,
    qdrant_api_key: str | None = None,
    *,
    flush_interval_s: float = 0.0,
) -> VectorStore:
    """Open the configured vector store.

    - ``qdrant_url`` None: the embedded edge store under ``data_dir / "collections"``.
    - ``"local:<path>"``: qdrant-client local mode at ``<path>`` (one process only; for tests).
    - ``http(s)://...``: a Qdrant server (``qdrant_api_key`` sent as its API key).
    """
    if not qdrant_url:
        from sightline.ingest.vectors.edge import EdgeStore

        return EdgeStore(Path(data_dir) / "collections", flush_interval_s=flush_interval_s)
    from sightline.ingest.vectors.qdrant import QdrantStore

    if qdrant_url.startswith("local:"):
        path = qdrant_url[len("local:") :]
        if not path:
            raise _invalid("local: needs a path, as in local:/var/lib/sightline/qdrant", "qdrant_url")
        return QdrantStore(path=Path(path))
    if qdrant_url.startswith(("http://", "https://")):
        return QdrantStore(url=qdrant_url, api_key=qdrant_api_key)
    raise _invalid(
        f"qdrant_url must be http(s)://host:port or local:<path>, not {qdrant_url!r}", "qdrant_url"
    )
