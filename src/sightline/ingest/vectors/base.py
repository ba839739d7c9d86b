"""The vector store's interface, its types, its limits and the validation of what callers pass in.

Two adapters implement `VectorStore`:

- `EdgeStore` (`edge.py`, the default): qdrant-edge-py, Qdrant's Rust engine in process, one
  `EdgeShard` per collection under ``<data_dir>/collections/<name>/``.
- `QdrantStore` (`qdrant.py`): qdrant-client against a Qdrant server (``http(s)://...``), or its
  local mode (``local:<path>``), which speaks the same API and stands in for a server in tests.

`open_store()` (`factory.py`) picks one. Every method is synchronous and thread-safe: the ingestion
service calls them from a thread pool. Every backend failure is raised as `StoreError`
(``STORE_FAILED``, 503, retriable); unknown collections as `CollectionNotFound` (404), duplicates as
`CollectionExists` (409), bad input as a ``VALIDATION_ERROR`` (422).

Point ids are UUID strings. They are returned in canonical form (lower-case, hyphenated), so a caller
that passes ``str(uuid.uuid5(...))`` gets back exactly the string it passed.
"""

from __future__ import annotations

import math
import re
import uuid
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, NamedTuple, get_args

from sightline.errors import ErrorCode, SightlineError

# --------------------------------------------------------------------------------------------------
# Limits: the one place for them (the API's request models and path parameters import these).


class IntRange(NamedTuple):
    """Inclusive bounds of an integer parameter."""

    min: int
    max: int


Distance = Literal["Cosine", "Dot", "Euclid", "Manhattan"]
DISTANCES: tuple[str, ...] = get_args(Distance)
Quantization = Literal["int8"]

VECTOR_SIZE_RANGE = IntRange(1, 65536)
HNSW_M_RANGE = IntRange(0, 128)  # 0 disables the graph
HNSW_EF_CONSTRUCT_RANGE = IntRange(4, 4096)

SEARCH_HNSW_EF = 256
"""Candidates an HNSW search keeps (the engines' default is the collection's `ef_construct`, 100)."""
SEARCH_OVERSAMPLING = 4.0
"""Quantized collections: candidates fetched per hit asked for, then rescored with the original vectors.
With SEARCH_HNSW_EF, on 1M clustered 384-d points: recall@10 0.98 at 2.5 ms, against 0.86 at 1.1 ms with the
default ef and oversampling 2 (docs/scaling.md). Exact scans of small collections ignore both."""

COLLECTION_NAME_MAX_LENGTH = 64
COLLECTION_NAME_PATTERN = rf"^[A-Za-z0-9][A-Za-z0-9_-]{{0,{COLLECTION_NAME_MAX_LENGTH - 1}}}$"
"""Collection names: 1-64 characters, a letter or digit first, then letters, digits, ``_`` and ``-``.
A regex string for pydantic's and FastAPI's ``pattern=``; here it is always matched with ``fullmatch``
(a bare ``$`` would let a trailing newline through)."""
_COLLECTION_NAME = re.compile(COLLECTION_NAME_PATTERN)

# Payload fields the service filters on; every new collection gets an index on each.
INDEXED_KEYWORD_FIELDS: tuple[str, ...] = ("camera", "folder_prefixes", "format", "sha256", "path")
INDEXED_FLOAT_FIELDS: tuple[str, ...] = ("taken_at_ts", "sort_ts")
# Full-text payload fields (lower-case word tokens): what `search_text` matches.
INDEXED_TEXT_FIELDS: tuple[str, ...] = ("words",)


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


class CollectionDamaged(StoreError):
    """A collection whose files cannot be opened (garbage in its params, shard config, WAL or segments).
    It is listed with status ``"damaged"`` and can be deleted; every other use of it fails with this error.
    ``params`` are its stored parameters when they could still be read."""

    def __init__(self, name: str, reason: str, params: CollectionParams | None = None):
        super().__init__(
            f"collection {name!r} is damaged ({reason}); delete it and ingest its images again", where=name
        )
        self.reason = reason
        self.params = params


def validation_error(message: str, where: str) -> SightlineError:
    """A 422 ``VALIDATION_ERROR`` about the input field ``where``."""
    return SightlineError(ErrorCode.VALIDATION_ERROR, message, where=where, status=422)


# --------------------------------------------------------------------------------------------------
# Validation of names and ids


def is_collection_name(name: object) -> bool:
    return isinstance(name, str) and _COLLECTION_NAME.fullmatch(name) is not None


def validate_collection_name(name: str) -> str:
    """Return ``name`` if it is a valid collection name, else raise a 422 ``VALIDATION_ERROR``.

    Names become folder names of the embedded store, so this is also the guard against path traversal.
    """
    if not is_collection_name(name):
        raise validation_error(
            f"invalid collection name {name!r}: 1-{COLLECTION_NAME_MAX_LENGTH} characters, letters, "
            "digits, '_' and '-', starting with a letter or digit",
            "name",
        )
    return name


def canonical_id(point_id: Any) -> str:
    """A point id as a canonical UUID string; a 422 ``VALIDATION_ERROR`` if it is not a UUID."""
    try:
        return str(point_id if isinstance(point_id, uuid.UUID) else uuid.UUID(str(point_id)))
    except (ValueError, TypeError, AttributeError):
        raise validation_error(f"point id {point_id!r} is not a UUID", "id") from None


def _check_int(value: Any, bounds: IntRange, where: str, label: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not bounds.min <= value <= bounds.max:
        raise validation_error(f"{label} must be an integer between {bounds.min} and {bounds.max}", where)


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
        _check_int(self.vector_size, VECTOR_SIZE_RANGE, "vector_size", "vector_size")
        if self.distance not in DISTANCES:
            raise validation_error(f"distance must be one of {', '.join(DISTANCES)}", "distance")
        if not isinstance(self.on_disk, bool):
            raise validation_error("on_disk must be true or false", "on_disk")
        _check_int(self.hnsw_m, HNSW_M_RANGE, "hnsw_m", "hnsw m")
        _check_int(self.hnsw_ef_construct, HNSW_EF_CONSTRUCT_RANGE, "hnsw_ef_construct", "hnsw ef_construct")
        if self.quantization not in (None, *get_args(Quantization)):
            raise validation_error("quantization must be 'int8' or null", "quantization")
        if not isinstance(self.metadata, dict):
            raise validation_error("metadata must be an object", "metadata")
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    def copy(self) -> CollectionParams:
        """A deep copy (metadata included), so callers cannot change what a store keeps."""
        return CollectionParams.from_dict(self.to_dict())

    @classmethod
    def from_dict(cls, data: dict) -> CollectionParams:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class CollectionInfo:
    name: str
    params: CollectionParams
    points_count: int
    # "green" / "yellow" / "red" / "grey" from a Qdrant server, "ok" from the edge shard, "damaged" for a
    # collection that cannot be opened (its `error` says why; params of vector_size 0 could not be read).
    status: str
    backend: str  # "embedded" or "qdrant"
    # CollectionParams fields this backend accepted and stored but does not apply (now).
    ignored_params: list[str] = field(default_factory=list)
    error: str | None = None

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "params": self.params.to_dict(),
            "points_count": self.points_count,
            "status": self.status,
            "backend": self.backend,
            "ignored_params": list(self.ignored_params),
            "error": self.error,
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


# SearchFilters field -> the payload key it matches exactly.
_MATCH_KEYS = {"camera": "camera", "folder": "folder_prefixes", "format": "format", "sha256": "sha256", "path": "path"}


@dataclass
class SearchFilters:
    # unix seconds, inclusive, on payload "sort_ts": the taken date, or the file's time when there is none
    taken_after: float | None = None
    taken_before: float | None = None
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
            out.append(("range", "sort_ts", (lo, hi)))
        for attr, key in _MATCH_KEYS.items():
            value = getattr(self, attr)
            if value is not None:
                if not isinstance(value, str):
                    raise validation_error(f"filter {attr} must be a string", attr)
                out.append(("match", key, value))
        return out


def _finite(value: Any, where: str) -> float:
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise validation_error(f"filter {where} must be a number", where) from None
    if not math.isfinite(f):
        raise validation_error(f"filter {where} must be finite", where)
    return f


# --------------------------------------------------------------------------------------------------
# Interface


class VectorStore(ABC):
    """Collections of image vectors with payloads. Synchronous and thread-safe."""

    backend: str

    @abstractmethod
    def list_collections(self) -> list[CollectionInfo]: ...

    @abstractmethod
    def create_collection(self, name: str, params: CollectionParams) -> CollectionInfo:
        """Create a collection with payload indexes on the filter fields (`INDEXED_KEYWORD_FIELDS`,
        `INDEXED_FLOAT_FIELDS`)."""

    @abstractmethod
    def collection_info(self, name: str) -> CollectionInfo: ...

    @abstractmethod
    def delete_collection(self, name: str) -> None: ...

    @abstractmethod
    def upsert(self, name: str, points: list[Point]) -> None:
        """Insert or replace points by id; once it returns, the points survive a killed process."""

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
        payload_keys: list[str] | None = None,
    ) -> tuple[list[Point], str | None]:
        """A page of points in id order and the offset of the next page (None after the last).
        ``payload_keys``: only these keys of each payload (those it has), for readers of a few fields
        (reading whole payloads back is most of a large scroll's cost); None: the whole payload."""

    @abstractmethod
    def count(self, name: str, filters: SearchFilters | None = None) -> int: ...

    @abstractmethod
    def facet(self, name: str, key: str, limit: int = 50) -> list[tuple[str, int]]:
        """Distinct values of a keyword payload field with their counts, most frequent first."""

    # Browsing, word search, sync and review (issues 11, 13, 14, 15).

    @abstractmethod
    def scroll_ordered(
        self,
        name: str,
        *,
        order_key: str = "sort_ts",
        descending: bool = True,
        limit: int = 100,
        cursor: str | None = None,
        filters: SearchFilters | None = None,
    ) -> tuple[list[Point], str | None]:
        """A page of points ordered by the float payload field ``order_key`` (one of
        `INDEXED_FLOAT_FIELDS`; ties broken by id) and an opaque cursor for the next page (None after the
        last). Points without a number in ``order_key`` come after all the others, in id order. Paging is
        stable while points are added or removed: no point is returned twice, and none present throughout
        is skipped. A cursor that is not one of this order's is a 422 (``where="cursor"``). See `_ordered`.
        Values are compared exactly: store them with at most 15 significant digits (the payload keeps dates
        to the millisecond), as longer ones do not always come back from the engine bit for bit."""

    @abstractmethod
    def search_text(
        self, name: str, text: str, *, limit: int = 20, filters: SearchFilters | None = None
    ) -> list[ScoredPoint]:
        """Points whose ``words`` field shares words with ``text``, best first (score: higher is better:
        BM25 in the embedded store, the fraction of the query's words matched with qdrant-client; see
        `_text`). A text without words finds nothing."""

    @abstractmethod
    def set_payload(self, name: str, ids: list[str], payload: dict) -> None:
        """Merge ``payload``'s keys into the payloads of ``ids`` (other keys and the vectors unchanged;
        ids that do not exist are ignored)."""

    @abstractmethod
    def sample(self, name: str, limit: int, filters: SearchFilters | None = None) -> list[Point]:
        """Up to ``limit`` points chosen at random (payloads, no vectors)."""

    @abstractmethod
    def search_batch(
        self,
        name: str,
        vectors: list[list[float]],
        *,
        limit: int = 20,
        score_threshold: float | None = None,
        filters: SearchFilters | None = None,
    ) -> list[list[ScoredPoint]]:
        """`search` for many query vectors in one call (one list of hits per vector, in order)."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> VectorStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
