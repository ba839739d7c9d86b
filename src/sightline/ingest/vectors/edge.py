"""The embedded vector store: one qdrant-edge-py `EdgeShard` per collection, in one folder each under
``<data_dir>/collections`` (layout and flushing of one collection: `_edge_collection`).

Shards are opened lazily on first use and kept open until `close()`. The shard's methods take
``&self`` on the Rust side and searches release the GIL (``load``, ``close`` and ``flush`` hold it, the
flush while it waits for the disk: docs/scaling.md, which is why the service runs this store in a process of
its own, `edge_process`), and concurrent reads and writes were checked to work,
so ordinary operations share a collection (writes go one at a time, in the order an index build
replays them); only closing or deleting it waits for them (a small readers-writer lock per collection).

Durability: a write is in the shard's write-ahead log when ``update()`` returns, and the WAL brings it
back after a killed process. ``flush()`` writes the segments as well (a shorter replay, and the OS-crash
case); it runs at most every ``flush_interval_s`` seconds and on close - the service passes
``store_flush_seconds``, 1 s by default; 0 flushes after every upsert or delete.

Indexing: HNSW (``hnsw_m``, ``hnsw_ef_construct``) and int8 quantization are built only by
``EdgeShard.optimize()``, which holds the GIL for its whole run (minutes at 100k points), so it never runs
in this process: `build_index` runs it in a child process on a copy of the shard and switches to the
result (`_edge_index`). Until a collection's first build, search is exact (a few ms at 100k x 384-d) and
`CollectionInfo.ignored_params` names the settings not in effect. Quantized collections are searched
with `hnsw_ef` 256, rescoring and 4x oversampling (`_edge_queries.search_params`).

Browsing (ordered paging), word search (BM25 over the ``words`` full-text index), payload updates,
random samples and batch search are in `_edge_queries`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import qdrant_edge as qe

from sightline.errors import ErrorCode, SightlineError
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
from sightline.ingest.disk import check_free
from sightline.ingest.vectors._edge_queries import EdgeQueries, edge_filter, search_params
from sightline.ingest.vectors._edge_collection import (
    CREATE_BYTES,
    EdgeCollection,
    is_complete,
    remove_folder,
    upsert_bytes,
)
from sightline.ingest.vectors.base import (
    INDEXED_KEYWORD_FIELDS,
    CollectionDamaged,
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

if TYPE_CHECKING:
    from sightline.ingest.vectors._edge_index import IndexBuild


class EdgeStore(EdgeQueries, VectorStore):
    """qdrant-edge-py shards in ``root``, one folder per collection.

    ``flush_interval_s``: 0 (the default here; the service passes ``store_flush_seconds``) flushes the
    shard after every upsert or delete; a positive value flushes at most that often, and on close.
    The flush costs far more than the write (measured, 2,000 x 384-d in batches of 32 with the six
    payload indexes: ~2 ms to upsert a batch, ~30 ms to flush it), so upsert in large batches. The
    WAL keeps acknowledged writes across a killed process either way.
    """

    backend = "embedded"

    def __init__(self, root: Path, *, flush_interval_s: float = 0.0):
        self.root = Path(root)
        self.flush_interval_s = float(flush_interval_s)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(f"cannot create the store folder {self.root}: {e}") from e
        self._lock = threading.Lock()  # guards _open and the folders' existence
        self._open: dict[str, EdgeCollection] = {}
        self._closed = False

    # -- plumbing ----------------------------------------------------------------------------------

    def _dir(self, name: str) -> Path:
        return self.root / validate_collection_name(name)

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("the vector store is closed")

    def _get(self, name: str) -> EdgeCollection:
        path = self._dir(name)
        with self._lock:
            self._check_open()
            col = self._open.get(name)
            if col is not None:
                return col
            if not is_complete(path):
                raise CollectionNotFound(name)
            col = self._open[name] = EdgeCollection.load(path)
            return col

    @contextmanager
    def _use(self, name: str) -> Iterator[EdgeCollection]:
        """The open collection, shared with other users; backend errors become `StoreError`."""
        col = self._get(name)
        with col.lock.read():
            if col.closed:  # deleted (or the store closed) between _get and here
                self._check_open()
                raise CollectionNotFound(name)
            try:
                yield col
            except SightlineError:
                raise
            except BaseException as e:  # noqa: BLE001 - a Rust panic is a BaseException
                if not isinstance(e, Exception) and type(e).__name__ != "PanicException":
                    raise
                raise StoreError(f"vector store failed on collection {name!r}: {e}", where=name) from e

    def _info(self, col: EdgeCollection) -> CollectionInfo:
        shard_info = col.shard.info()
        ignored: list[str] = []
        if shard_info.indexed_vectors_count == 0:
            # Nothing optimised: search is exact, no HNSW graph and no quantized vectors exist.
            ignored += ["hnsw_m", "hnsw_ef_construct"]
            if col.params.quantization:
                ignored.append("quantization")
        return CollectionInfo(
            name=col.name,
            params=col.params.copy(),
            points_count=int(shard_info.points_count),
            status="ok",
            backend=self.backend,
            ignored_params=ignored,
        )

    # -- collections -------------------------------------------------------------------------------

    def list_collections(self) -> list[CollectionInfo]:
        self._check_open()
        names = sorted(
            p.name
            for p in self.root.iterdir()
            if p.is_dir() and is_complete(p) and is_collection_name(p.name)
        )
        out = []
        for name in names:
            try:
                out.append(self.collection_info(name))
            except CollectionNotFound:  # deleted meanwhile
                continue
            except SightlineError as e:  # its first opening needs room the disk does not have
                if e.code != ErrorCode.DISK_FULL:
                    raise
                out.append(self._unavailable_info(name, e, "unavailable"))
        return out

    def create_collection(self, name: str, params: CollectionParams) -> CollectionInfo:
        path = self._dir(name)
        params = params.validate().copy()
        with self._lock:
            self._check_open()
            if name in self._open or is_complete(path):
                raise CollectionExists(name)
            check_free(self.root, CREATE_BYTES)  # DISK_FULL, not a SIGBUS in the shard's mapped writes
            self._open[name] = EdgeCollection.create(path, params)
        return self.collection_info(name)

    def collection_info(self, name: str) -> CollectionInfo:
        """The collection's info; a damaged one's says so (status ``"damaged"``, `error`) and can be deleted."""
        try:
            with self._use(name) as col:
                return self._info(col)
        except CollectionDamaged as e:
            return self._unavailable_info(name, e, "damaged", e.params)

    def _unavailable_info(
        self, name: str, error: SightlineError, status: str, params: CollectionParams | None = None
    ) -> CollectionInfo:
        params = params.copy() if params is not None else CollectionParams(vector_size=0)
        return CollectionInfo(name=name, params=params, points_count=0, status=status, backend=self.backend,
                              error=error.message)

    def delete_collection(self, name: str) -> None:
        path = self._dir(name)
        with self._lock:
            self._check_open()
            col = self._open.pop(name, None)
            if col is None and not is_complete(path):
                raise CollectionNotFound(name)
            try:
                if col is not None:
                    col.close()  # waits for operations in flight
                remove_folder(path)
            except Exception as e:  # noqa: BLE001
                raise StoreError(f"cannot delete collection {name!r}: {e}", where=name) from e

    # -- points ------------------------------------------------------------------------------------

    def upsert(self, name: str, points: list[Point]) -> None:
        with self._use(name) as col:
            rows = checked_points(points, col.params.vector_size)
            if rows:
                check_free(self.root, upsert_bytes(rows))
                batch = [qe.Point(*row) for row in rows]
                col.update(qe.UpdateOperation.upsert_points(batch))
                col.written(self.flush_interval_s)

    def delete_points(self, name: str, ids: list[str]) -> None:
        with self._use(name) as col:
            point_ids: list[Any] = [canonical_id(i) for i in ids]
            if point_ids:
                check_free(self.root, 256 * len(point_ids))  # the WAL's record of the delete
                col.update(qe.UpdateOperation.delete_points(point_ids))
                col.written(self.flush_interval_s)

    def retrieve(self, name: str, ids: list[str], with_vectors: bool = False) -> list[Point]:
        with self._use(name) as col:
            wanted: list[Any] = unique_ids(ids)
            if not wanted:
                return []
            records = col.shard.retrieve(wanted, with_payload=True, with_vector=with_vectors)
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
        with self._use(name) as col:
            request = qe.QueryRequest(
                limit=limit,
                query=qe.Query.Nearest(vector_as_list(vector, col.params.vector_size)),
                filter=edge_filter(filters),
                score_threshold=None if score_threshold is None else float(score_threshold),
                params=search_params(col),
                with_payload=True,
                with_vector=False,
            )
            return [to_scored_point(hit) for hit in col.shard.query(request)]

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
        with self._use(name) as col:
            records, next_offset = col.shard.scroll(
                qe.ScrollRequest(
                    offset=None if offset is None else canonical_id(offset),
                    limit=limit,
                    filter=edge_filter(filters),
                    with_payload=True if keys is None else qe.PayloadSelector.Include(keys),
                    with_vector=with_vectors,
                )
            )
            points = [to_point(r, with_vectors) for r in records]
            return points, None if next_offset is None else canonical_id(next_offset)

    def count(self, name: str, filters: SearchFilters | None = None) -> int:
        with self._use(name) as col:
            return int(col.shard.count(qe.CountRequest(exact=True, filter=edge_filter(filters))))

    def facet(self, name: str, key: str, limit: int = 50) -> list[tuple[str, int]]:
        check_limit(limit)
        with self._use(name) as col:
            if key in INDEXED_KEYWORD_FIELDS:
                # Ask for more than needed: values whose points were all deleted still come back
                # (count 0) until the segment is optimised, and would take places in the top list.
                response = col.shard.facet(qe.FacetRequest(key, limit=limit + 100, exact=True))
                return top_facets({h.value: h.count for h in response.hits}, limit)

            # The shard facets only indexed keyword fields: count by scrolling.
            def page(offset: Any) -> tuple[list[Any], Any]:
                request = qe.ScrollRequest(
                    offset=offset, limit=SCROLL_PAGE, with_payload=qe.PayloadSelector.Include([key]), with_vector=False
                )
                return col.shard.scroll(request)

            return facet_by_scroll(page, key, limit)

    def build_index(self, name: str, indexing_threshold_kb: int | None = None) -> IndexBuild:
        """Build the collection's HNSW graph and quantized vectors with its parameters, in a child process
        (see `_edge_index`): searches and writes go on meanwhile. Call it when a large ingest has finished;
        points added later are searched exactly until the next build."""
        from sightline.ingest.vectors._edge_index import build_index  # run as the child's __main__ too

        col = self._get(name)
        try:
            return build_index(col, indexing_threshold_kb)
        except SightlineError:
            raise
        except Exception as e:  # noqa: BLE001
            raise StoreError(f"building the index of {name!r} failed: {e}", where=name) from e

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            cols, self._open = list(self._open.values()), {}
        errors = []
        for col in cols:
            try:
                col.close()
            except Exception as e:  # noqa: BLE001
                errors.append(f"{col.name}: {e}")
        if errors:
            raise StoreError("closing the vector store failed: " + "; ".join(errors))
