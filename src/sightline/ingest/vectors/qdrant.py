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
from sightline.ingest.vectors._qdrant_queries import SEARCH_PARAMS, QdrantQueries, add_missing_indexes, qdrant_filter
from sightline.ingest.vectors._common import (
    SCROLL_PAGE,
    check_limit,
    checked_keys,
    checked_points,
    facet_by_scroll,
    in_asked_order,
    to_point,
    to_scored_point,
    top_facets,
    unique_ids,
    vector_as_list,
)
from sightline.ingest.vectors.base import (
    DISTANCES,
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
    is_collection_name,
    validate_collection_name,
)

logger = logging.getLogger(__name__)

RESERVED_METADATA_KEY = "sightline"
_DISTANCES = {name: qm.Distance(name) for name in DISTANCES}
_DISTANCE_NAMES = {v: k for k, v in _DISTANCES.items()}
_TUNING_PARAMS = ("on_disk", "hnsw_m", "hnsw_ef_construct", "quantization")


class QdrantStore(QdrantQueries, VectorStore):
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
        stored = meta.pop(RESERVED_METADATA_KEY, None)
        actual = _actual_params(config)
        if isinstance(stored, dict) and isinstance(stored.get("params"), dict):
            params = CollectionParams.from_dict({**stored["params"], "metadata": dict(stored.get("metadata") or {})})
            if not self.local and name not in self._params:  # made before an index was added to Sightline
                self._call(name, add_missing_indexes, self._client, name, set(info.payload_schema or {}))
        else:  # not made by Sightline: describe what the server has
            params = actual or CollectionParams(vector_size=0)
            params.metadata = meta
        self._params[name] = params
        status = info.status.value if hasattr(info.status, "value") else str(info.status)
        return CollectionInfo(
            name=name,
            params=params.copy(),
            points_count=int(info.points_count or 0),
            status=str(status),
            backend=self.backend,
            ignored_params=ignored_params(params, actual, local=self.local),
        )

    # -- collections -------------------------------------------------------------------------------

    def list_collections(self) -> list[CollectionInfo]:
        response = self._call(None, self._client.get_collections)
        out = []
        # A name Sightline would not accept (made by another tool) is not ours to show.
        for name in sorted(c.name for c in response.collections if is_collection_name(c.name)):
            try:
                out.append(self.collection_info(name))
            except CollectionNotFound:  # deleted meanwhile
                continue
        return out

    def create_collection(self, name: str, params: CollectionParams) -> CollectionInfo:
        validate_collection_name(name)
        params = params.validate().copy()
        if self._exists(name):
            raise CollectionExists(name)
        try:
            with self._lock:
                self._client.create_collection(collection_name=name, **_collection_config(params))
                if not self.local:  # local mode ignores payload indexes (and warns about each)
                    add_missing_indexes(self._client, name)
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
        rows = checked_points(points, self._collection_params(name).vector_size)
        structs = [qm.PointStruct(id=pid, vector=vector, payload=payload) for pid, vector, payload in rows]
        if structs:
            self._call(name, self._client.upsert, collection_name=name, points=structs, wait=True)

    def delete_points(self, name: str, ids: list[str]) -> None:
        self._require(name)
        point_ids: list[Any] = [canonical_id(i) for i in ids]
        if point_ids:
            selector = qm.PointIdsList(points=point_ids)
            self._call(name, self._client.delete, collection_name=name, points_selector=selector, wait=True)

    def retrieve(self, name: str, ids: list[str], with_vectors: bool = False) -> list[Point]:
        self._require(name)
        wanted: list[Any] = unique_ids(ids)
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
        return in_asked_order(wanted, records, with_vectors)

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
            query_filter=qdrant_filter(filters),
            search_params=None if self.local else SEARCH_PARAMS,  # local mode is exact (and warns)
            with_payload=True,
            with_vectors=False,
        )
        return [to_scored_point(hit) for hit in response.points]

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
        check_limit(limit)
        keys = checked_keys(payload_keys)
        self._require(name)
        records, next_offset = self._call(
            name,
            self._client.scroll,
            collection_name=name,
            scroll_filter=qdrant_filter(filters),
            limit=limit,
            offset=None if offset is None else canonical_id(offset),
            with_payload=True if keys is None else keys,
            with_vectors=with_vectors,
        )
        points = [to_point(r, with_vectors) for r in records]
        return points, None if next_offset is None else canonical_id(next_offset)

    def count(self, name: str, filters: SearchFilters | None = None) -> int:
        self._require(name)
        result = self._call(
            name, self._client.count, collection_name=name, count_filter=qdrant_filter(filters), exact=True
        )
        return int(result.count)

    def facet(self, name: str, key: str, limit: int = 50) -> list[tuple[str, int]]:
        check_limit(limit)
        self._require(name)
        if key in INDEXED_KEYWORD_FIELDS:
            try:
                response = self._call(name, self._client.facet, collection_name=name, key=key, limit=limit, exact=True)
                return top_facets({h.value: h.count for h in response.hits}, limit)
            except CollectionNotFound:
                raise
            except StoreError as e:  # e.g. a collection made elsewhere without the index
                logger.debug("facet on %s.%s failed (%s); counting by scroll", name, key, e)

        def page(offset: Any) -> tuple[list[Any], Any]:
            return self._call(
                name,
                self._client.scroll,
                collection_name=name,
                limit=SCROLL_PAGE,
                offset=offset,
                with_payload=[key],
                with_vectors=False,
            )

        return facet_by_scroll(page, key, limit)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            with self._lock:
                self._client.close()
        except Exception as e:  # noqa: BLE001
            raise StoreError(f"closing the Qdrant client failed: {e}") from e


def ignored_params(params: CollectionParams, actual: CollectionParams | None, *, local: bool) -> list[str]:
    """The tuning parameters asked for (``params``) that are not in effect (``actual``, from the server)."""
    if local:
        # Brute force in numpy, everything in RAM: no HNSW, no quantization, no disk placement.
        ignored = ["on_disk"] if params.on_disk else []
        ignored += ["hnsw_m", "hnsw_ef_construct"]
        if params.quantization:
            ignored.append("quantization")
        return ignored
    if actual is None:
        return []
    return [f for f in _TUNING_PARAMS if getattr(actual, f) != getattr(params, f)]


def _collection_config(params: CollectionParams) -> dict[str, Any]:
    """The keyword arguments of ``create_collection`` for ``params`` (the collection name aside)."""
    quantization = None
    if params.quantization == "int8":
        quantization = qm.ScalarQuantization(
            scalar=qm.ScalarQuantizationConfig(type=qm.ScalarType.INT8, always_ram=True)
        )
    stored = {k: v for k, v in params.to_dict().items() if k != "metadata"}
    return {
        # The deprecated on_disk flags, not `memory`: every server version knows them.
        "vectors_config": qm.VectorParams(
            size=params.vector_size, distance=_DISTANCES[params.distance], on_disk=params.on_disk
        ),
        "on_disk_payload": params.on_disk,
        "hnsw_config": qm.HnswConfigDiff(m=params.hnsw_m, ef_construct=params.hnsw_ef_construct),
        "quantization_config": quantization,
        "metadata": {RESERVED_METADATA_KEY: {"version": 1, "params": stored, "metadata": params.metadata}},
    }


def _actual_params(config: Any) -> CollectionParams | None:
    """What the server reports, as CollectionParams (None for named or missing vectors)."""
    vectors = config.params.vectors
    if not isinstance(vectors, qm.VectorParams):
        return None
    quant = vectors.quantization_config or config.quantization_config
    # A per-vector HNSW setting overrides the collection's.
    own_hnsw = vectors.hnsw_config
    hnsw_m = own_hnsw.m if own_hnsw is not None and own_hnsw.m is not None else config.hnsw_config.m
    if own_hnsw is not None and own_hnsw.ef_construct is not None:
        ef = own_hnsw.ef_construct
    else:
        ef = config.hnsw_config.ef_construct
    return CollectionParams(
        vector_size=vectors.size,
        distance=_DISTANCE_NAMES.get(vectors.distance, "Cosine"),  # type: ignore[arg-type]
        on_disk=bool(vectors.on_disk) or getattr(vectors, "memory", None) == qm.Memory.COLD,
        hnsw_m=hnsw_m,
        hnsw_ef_construct=ef,
        quantization="int8" if isinstance(quant, qm.ScalarQuantization) else None,
    )
