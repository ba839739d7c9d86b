"""The vector store on qdrant-client: a Qdrant server (``http(s)://``) or local mode (``local:<path>``).

Collection parameters are kept in the collection's own ``metadata`` (Qdrant >= 1.16 and local mode
store it), under the reserved key ``"sightline"``: ``{"sightline": {"version": 1, "params": {...},
"metadata": {...}}}``. Local mode forgets HNSW and quantization settings (it keeps only the vector
params), so the stored copy is what `collection_info` returns; collections made by other tools (no
``"sightline"`` key) are described from the server's config instead.

Local mode is a pure-Python brute-force engine: vectors in numpy, payloads pickled into SQLite, no
payload indexes (creating one only warns, so none are created there), no HNSW, no quantization, no
on-disk placement. It is one process only and not thread-safe, so every call is serialised by a lock
and SQLite's same-thread check is disabled. The HTTP client is thread-safe and takes no lock.
"""

from __future__ import annotations

import logging
import threading
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from qdrant_client import QdrantClient
from qdrant_client import models as qm

from sightline.errors import SightlineError
from sightline.ingest.vectors.base import (
    INDEXED_FLOAT_FIELDS,
    INDEXED_KEYWORD_FIELDS,
    CollectionExists,
    CollectionInfo,
    CollectionNotFound,
    CollectionParams,
    Point,
    ScoredPoint,
    SearchFilters,
    StoreError,
    VectorStore,
    canonical_id,
    check_limit,
    sort_facets,
    validate_collection_name,
    vector_as_list,
)

log = logging.getLogger(__name__)

RESERVED_METADATA_KEY = "sightline"
_DISTANCES = {
    "Cosine": qm.Distance.COSINE,
    "Dot": qm.Distance.DOT,
    "Euclid": qm.Distance.EUCLID,
    "Manhattan": qm.Distance.MANHATTAN,
}
_DISTANCE_NAMES = {v: k for k, v in _DISTANCES.items()}
_SCROLL_PAGE = 1000


def _filter(filters: SearchFilters | None) -> qm.Filter | None:
    if filters is None:
        return None
    must: list[Any] = []
    for kind, key, value in filters.conditions():
        if kind == "match":
            must.append(qm.FieldCondition(key=key, match=qm.MatchValue(value=value)))
        else:
            gte, lte = value
            must.append(qm.FieldCondition(key=key, range=qm.Range(gte=gte, lte=lte)))
    return qm.Filter(must=must) if must else None


class QdrantStore(VectorStore):
    """qdrant-client, remote (``url``) or local mode (``path``)."""

    backend = "qdrant"

    def __init__(
        self,
        *,
        url: str | None = None,
        api_key: str | None = None,
        path: Path | None = None,
        timeout: int = 30,
    ):
        if (url is None) == (path is None):
            raise ValueError("give exactly one of url and path")
        self.local = path is not None
        try:
            if path is not None:
                Path(path).mkdir(parents=True, exist_ok=True)
                self._client = QdrantClient(path=str(path), force_disable_check_same_thread=True)
            else:
                self._client = QdrantClient(url=url, api_key=api_key, timeout=timeout)
        except Exception as e:  # noqa: BLE001
            hint = " (is another process using it?)" if path is not None else ""
            raise StoreError(f"cannot open the Qdrant store at {path or url}: {e}{hint}") from e
        self._lock: Any = threading.RLock() if self.local else nullcontext()
        self._params: dict[str, CollectionParams] = {}
        self._closed = False

    # -- plumbing ----------------------------------------------------------------------------------

    def _call(self, name: str | None, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run one client call; a missing collection becomes `CollectionNotFound`, anything else
        a `StoreError`."""
        if self._closed:
            raise StoreError("the vector store is closed")
        try:
            with self._lock:
                return fn(*args, **kwargs)
        except SightlineError:
            raise
        except Exception as e:  # noqa: BLE001
            if name is not None and not self._exists(name):
                self._params.pop(name, None)
                raise CollectionNotFound(name) from e
            raise StoreError(f"Qdrant failed on {name or 'the store'}: {e}", where=name) from e

    def _exists(self, name: str) -> bool:
        if self._closed:
            raise StoreError("the vector store is closed")
        try:
            with self._lock:
                return bool(self._client.collection_exists(name))
        except Exception as e:  # noqa: BLE001
            raise StoreError(f"Qdrant is unreachable: {e}", where=name) from e

    def _require(self, name: str) -> None:
        validate_collection_name(name)
        if self.local and not self._exists(name):  # cheap in local mode; remote finds out on error
            raise CollectionNotFound(name)

    def _collection_params(self, name: str) -> CollectionParams:
        params = self._params.get(name)
        if params is None:
            params = self.collection_info(name).params
        return params

    def _describe(self, name: str, info: qm.CollectionInfo) -> CollectionInfo:
        config = info.config
        meta = dict(config.metadata or {})
        vectors = config.params.vectors
        stored = meta.pop(RESERVED_METADATA_KEY, None)
        actual = _actual_params(config, vectors)
        if isinstance(stored, dict) and isinstance(stored.get("params"), dict):
            params = CollectionParams.from_dict(
                {**stored["params"], "metadata": dict(stored.get("metadata") or {})}
            )
        else:  # not made by Sightline: describe what the server has
            params = actual or CollectionParams(vector_size=0)
            params.metadata = meta
        if self.local:
            # Brute force in numpy, everything in RAM: no HNSW, no quantization, no disk placement.
            ignored = ["on_disk"] if params.on_disk else []
            ignored += ["hnsw_m", "hnsw_ef_construct"]
            if params.quantization:
                ignored.append("quantization")
        else:
            ignored = [
                f
                for f in ("on_disk", "hnsw_m", "hnsw_ef_construct", "quantization")
                if actual is not None and getattr(actual, f) != getattr(params, f)
            ]
        self._params[name] = params
        status = info.status.value if hasattr(info.status, "value") else str(info.status)
        return CollectionInfo(
            name=name,
            params=CollectionParams.from_dict(params.to_dict()),
            points_count=int(info.points_count or 0),
            status=str(status),
            backend=self.backend,
            ignored_params=ignored,
        )

    # -- collections -------------------------------------------------------------------------------

    def list_collections(self) -> list[CollectionInfo]:
        response = self._call(None, self._client.get_collections)
        out = []
        for c in sorted(response.collections, key=lambda c: c.name):
            try:
                out.append(self.collection_info(c.name))
            except CollectionNotFound:
                continue
            except SightlineError as e:
                if e.status == 422:  # a name Sightline would not accept: not ours to show
                    continue
                raise
        return out

    def create_collection(self, name: str, params: CollectionParams) -> CollectionInfo:
        validate_collection_name(name)
        params = CollectionParams.from_dict(params.validate().to_dict())
        if self._exists(name):
            raise CollectionExists(name)
        stored = {k: v for k, v in params.to_dict().items() if k != "metadata"}
        metadata = {RESERVED_METADATA_KEY: {"version": 1, "params": stored, "metadata": params.metadata}}
        quantization = None
        if params.quantization == "int8":
            quantization = qm.ScalarQuantization(
                scalar=qm.ScalarQuantizationConfig(type=qm.ScalarType.INT8, always_ram=True)
            )
        try:
            with self._lock:
                self._client.create_collection(
                    collection_name=name,
                    # The deprecated on_disk flags, not `memory`: every server version knows them.
                    vectors_config=qm.VectorParams(
                        size=params.vector_size,
                        distance=_DISTANCES[params.distance],
                        on_disk=params.on_disk,
                    ),
                    on_disk_payload=params.on_disk,
                    hnsw_config=qm.HnswConfigDiff(m=params.hnsw_m, ef_construct=params.hnsw_ef_construct),
                    quantization_config=quantization,
                    metadata=metadata,
                )
                if not self.local:  # local mode ignores payload indexes (and warns about each)
                    for key in INDEXED_KEYWORD_FIELDS:
                        self._client.create_payload_index(
                            name, key, field_schema=qm.PayloadSchemaType.KEYWORD, wait=True
                        )
                    for key in INDEXED_FLOAT_FIELDS:
                        self._client.create_payload_index(
                            name, key, field_schema=qm.PayloadSchemaType.FLOAT, wait=True
                        )
        except Exception as e:  # noqa: BLE001
            if "already exists" in str(e):
                raise CollectionExists(name) from e
            raise StoreError(f"cannot create collection {name!r}: {e}", where=name) from e
        self._params[name] = params
        return self.collection_info(name)

    def collection_info(self, name: str) -> CollectionInfo:
        self._require(name)
        info = self._call(name, self._client.get_collection, name)
        return self._describe(name, info)

    def delete_collection(self, name: str) -> None:
        self._require(name)
        existed = self._call(name, self._client.delete_collection, name)
        self._params.pop(name, None)
        if existed is False:
            raise CollectionNotFound(name)

    # -- points ------------------------------------------------------------------------------------

    def upsert(self, name: str, points: list[Point]) -> None:
        self._require(name)
        size = self._collection_params(name).vector_size
        structs = [
            qm.PointStruct(
                id=canonical_id(p.id),
                vector=vector_as_list(p.vector, size, where=f"points[{i}].vector"),
                payload=dict(p.payload or {}),
            )
            for i, p in enumerate(points)
        ]
        if structs:
            self._call(name, self._client.upsert, collection_name=name, points=structs, wait=True)

    def delete_points(self, name: str, ids: list[str]) -> None:
        self._require(name)
        point_ids: list[Any] = [canonical_id(i) for i in ids]
        if point_ids:
            self._call(
                name,
                self._client.delete,
                collection_name=name,
                points_selector=qm.PointIdsList(points=point_ids),
                wait=True,
            )

    def retrieve(self, name: str, ids: list[str], with_vectors: bool = False) -> list[Point]:
        self._require(name)
        wanted = list(dict.fromkeys(canonical_id(i) for i in ids))
        if not wanted:
            return []
        records = self._call(
            name,
            self._client.retrieve,
            collection_name=name,
            ids=wanted,
            with_payload=True,
            with_vectors=with_vectors,
        )
        found = {canonical_id(r.id): _point(r, with_vectors) for r in records}
        return [found[i] for i in wanted if i in found]

    def search(
        self,
        name: str,
        vector: list[float],
        *,
        limit: int = 20,
        score_threshold: float | None = None,
        filters: SearchFilters | None = None,
    ) -> list[ScoredPoint]:
        check_limit(limit)
        self._require(name)
        query = vector_as_list(vector, self._collection_params(name).vector_size)
        response = self._call(
            name,
            self._client.query_points,
            collection_name=name,
            query=query,
            limit=limit,
            score_threshold=None if score_threshold is None else float(score_threshold),
            query_filter=_filter(filters),
            with_payload=True,
            with_vectors=False,
        )
        return [
            ScoredPoint(id=canonical_id(p.id), score=float(p.score), payload=dict(p.payload or {}))
            for p in response.points
        ]

    def scroll(
        self,
        name: str,
        *,
        limit: int = 100,
        offset: str | None = None,
        filters: SearchFilters | None = None,
        with_vectors: bool = False,
    ) -> tuple[list[Point], str | None]:
        check_limit(limit)
        self._require(name)
        records, next_offset = self._call(
            name,
            self._client.scroll,
            collection_name=name,
            scroll_filter=_filter(filters),
            limit=limit,
            offset=None if offset is None else canonical_id(offset),
            with_payload=True,
            with_vectors=with_vectors,
        )
        points = [_point(r, with_vectors) for r in records]
        return points, None if next_offset is None else canonical_id(next_offset)

    def count(self, name: str, filters: SearchFilters | None = None) -> int:
        self._require(name)
        result = self._call(
            name, self._client.count, collection_name=name, count_filter=_filter(filters), exact=True
        )
        return int(result.count)

    def facet(self, name: str, key: str, limit: int = 50) -> list[tuple[str, int]]:
        check_limit(limit)
        self._require(name)
        if key in INDEXED_KEYWORD_FIELDS:
            try:
                response = self._call(
                    name, self._client.facet, collection_name=name, key=key, limit=limit, exact=True
                )
                return sort_facets({h.value: h.count for h in response.hits}, limit)
            except CollectionNotFound:
                raise
            except StoreError as e:  # e.g. a collection made elsewhere without the index
                log.debug("facet on %s.%s failed (%s); counting by scroll", name, key, e)
        counts: dict[Any, int] = {}
        offset = None
        while True:
            records, offset = self._call(
                name,
                self._client.scroll,
                collection_name=name,
                limit=_SCROLL_PAGE,
                offset=offset,
                with_payload=[key],
                with_vectors=False,
            )
            for r in records:
                value = (r.payload or {}).get(key)
                for v in value if isinstance(value, list) else [value]:
                    if isinstance(v, (str, int, bool)):
                        counts[v] = counts.get(v, 0) + 1
            if offset is None:
                return sort_facets(counts, limit)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            with self._lock:
                self._client.close()
        except Exception as e:  # noqa: BLE001
            raise StoreError(f"closing the Qdrant client failed: {e}") from e


def _actual_params(config: Any, vectors: Any) -> CollectionParams | None:
    """What the server reports, as CollectionParams (None for named or missing vectors)."""
    if not isinstance(vectors, qm.VectorParams):
        return None
    quant = vectors.quantization_config or config.quantization_config
    hnsw = config.hnsw_config
    if vectors.hnsw_config is not None and vectors.hnsw_config.m is not None:
        hnsw_m = vectors.hnsw_config.m
    else:
        hnsw_m = hnsw.m
    if vectors.hnsw_config is not None and vectors.hnsw_config.ef_construct is not None:
        ef = vectors.hnsw_config.ef_construct
    else:
        ef = hnsw.ef_construct
    return CollectionParams(
        vector_size=vectors.size,
        distance=_DISTANCE_NAMES.get(vectors.distance, "Cosine"),  # type: ignore[arg-type]
        on_disk=bool(vectors.on_disk) or getattr(vectors, "memory", None) == qm.Memory.COLD,
        hnsw_m=hnsw_m,
        hnsw_ef_construct=ef,
        quantization="int8" if isinstance(quant, qm.ScalarQuantization) else None,
    )


def _point(record: Any, with_vectors: bool) -> Point:
    vector = record.vector if with_vectors else None
    if isinstance(vector, dict):  # named vectors: take the default one
        vector = vector.get("")
    if vector is not None and not isinstance(vector, list):
        vector = list(vector)
    return Point(id=canonical_id(record.id), vector=vector, payload=dict(record.payload or {}))
