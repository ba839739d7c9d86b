"""The embedded vector store: one qdrant-edge-py `EdgeShard` per collection.

Layout under the store's root (``<data_dir>/collections``)::

    <name>/sightline.json   CollectionParams (metadata included); written last, so a folder without
                            it is an interrupted create and is neither listed nor opened
    <name>/shard/           the edge shard (its own edge_config.json, WAL and segments)

Shards are opened lazily on first use and kept open until `close()`. The shard's methods take
``&self`` on the Rust side and release the GIL, and concurrent reads and writes were checked to work,
so ordinary operations share a collection; only closing or deleting it waits for them (a small
readers-writer lock per collection). Every upsert or delete is followed by ``flush()`` (by default;
see `EdgeStore`), so what has been acknowledged is on disk when the call returns.

What the shard does not apply in the serving path: HNSW (``hnsw_m``, ``hnsw_ef_construct``) and
scalar quantization are written to the shard's config, but only an optimisation builds them, and
``optimize()`` holds the GIL for its whole run (minutes at 100k points) - so it is never called here
except by the explicit maintenance method `EdgeStore.optimize_collection`. Until that has built an
index, search is exact (a few ms at 100k x 384-d) and `CollectionInfo.ignored_params` says so.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import qdrant_edge as qe

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

PARAMS_FILE = "sightline.json"
SHARD_DIR = "shard"
_DISTANCES = {
    "Cosine": qe.Distance.Cosine,
    "Dot": qe.Distance.Dot,
    "Euclid": qe.Distance.Euclid,
    "Manhattan": qe.Distance.Manhattan,
}
_SCROLL_PAGE = 1000


class _RWLock:
    """Many readers or one writer; a waiting writer holds back new readers."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0
        self._writer = False
        self._writers_waiting = 0

    @contextmanager
    def read(self) -> Iterator[None]:
        with self._cond:
            while self._writer or self._writers_waiting:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        with self._cond:
            self._writers_waiting += 1
            try:
                while self._writer or self._readers:
                    self._cond.wait()
            finally:
                self._writers_waiting -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


class _Collection:
    def __init__(self, name: str, path: Path, shard: qe.EdgeShard, params: CollectionParams):
        self.name = name
        self.path = path
        self.shard = shard
        self.params = params
        self.lock = _RWLock()
        self.closed = False
        self.last_flush = time.monotonic()
        self.dirty = False

    def written(self, interval_s: float) -> None:
        """Flush after a write, or at most every ``interval_s`` seconds when that is positive."""
        now = time.monotonic()
        if interval_s <= 0 or now - self.last_flush >= interval_s:
            self.dirty = False
            self.shard.flush()
            self.last_flush = now
        else:
            self.dirty = True

    def close(self) -> None:
        with self.lock.write():
            if not self.closed:
                self.closed = True
                if self.dirty:
                    self.shard.flush()
                self.shard.close()


def _edge_config(params: CollectionParams) -> qe.EdgeConfig:
    memory = qe.Memory.Cold if params.on_disk else qe.Memory.Cached
    quantization = None
    if params.quantization == "int8":
        # Quantized vectors are small: keep them in RAM even when the originals are on disk.
        quantization = qe.ScalarQuantizationConfig(type=qe.ScalarType.Int8, always_ram=True)
    return qe.EdgeConfig(
        vectors=qe.EdgeVectorParams(
            size=params.vector_size, distance=_DISTANCES[params.distance], memory=memory
        ),
        payload_memory=memory,
        hnsw_config=qe.HnswIndexConfig(
            m=params.hnsw_m, ef_construct=params.hnsw_ef_construct, full_scan_threshold=10_000
        ),
        quantization_config=quantization,
    )


def _filter(filters: SearchFilters | None) -> qe.Filter | None:
    if filters is None:
        return None
    must: list[Any] = []
    for kind, key, value in filters.conditions():
        if kind == "match":
            must.append(qe.FieldCondition(key, match=qe.MatchValue(value)))
        else:
            gte, lte = value
            must.append(qe.FieldCondition(key, range=qe.RangeFloat(gte=gte, lte=lte)))
    return qe.Filter(must=must) if must else None


def _write_json_atomic(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class EdgeStore(VectorStore):
    """qdrant-edge-py shards in ``root``, one folder per collection.

    ``flush_interval_s``: 0 (the default) flushes the shard after every upsert or delete, so an
    acknowledged write is on disk when the call returns. The flush costs far more than the write
    (measured, 2,000 x 384-d in batches of 32 with the six payload indexes: ~2 ms to upsert a batch,
    ~30 ms to flush it), so upsert in large batches. The shard's WAL already brings back unflushed
    writes after a killed process (checked with SIGKILL); what a flush adds is the segments on disk,
    i.e. a shorter WAL replay and the OS-crash case. A positive value flushes at most that often
    (and on close), for bulk loads that accept this.
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
        self._open: dict[str, _Collection] = {}
        self._closed = False

    # -- plumbing ----------------------------------------------------------------------------------

    def _dir(self, name: str) -> Path:
        return self.root / validate_collection_name(name)

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("the vector store is closed")

    def _get(self, name: str) -> _Collection:
        path = self._dir(name)
        with self._lock:
            self._check_open()
            col = self._open.get(name)
            if col is not None:
                return col
            params_file = path / PARAMS_FILE
            if not params_file.is_file():
                raise CollectionNotFound(name)
            try:
                params = CollectionParams.from_dict(json.loads(params_file.read_text("utf-8")))
                shard = qe.EdgeShard.load(str(path / SHARD_DIR))
            except Exception as e:  # noqa: BLE001 - any backend failure is a store failure
                hint = " (is another process using this data folder?)" if "WouldBlock" in str(e) else ""
                raise StoreError(f"cannot open collection {name!r}: {e}{hint}", where=name) from e
            col = self._open[name] = _Collection(name, path, shard, params)
            return col

    @contextmanager
    def _use(self, name: str) -> Iterator[_Collection]:
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
            except Exception as e:  # noqa: BLE001
                raise StoreError(f"vector store failed on collection {name!r}: {e}", where=name) from e

    def _info(self, col: _Collection) -> CollectionInfo:
        shard_info = col.shard.info()
        ignored: list[str] = []
        if shard_info.indexed_vectors_count == 0:
            # Nothing optimised yet: search is exact, no HNSW graph and no quantized vectors exist.
            ignored += ["hnsw_m", "hnsw_ef_construct"]
            if col.params.quantization:
                ignored.append("quantization")
        return CollectionInfo(
            name=col.name,
            params=CollectionParams.from_dict(col.params.to_dict()),  # a copy
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
            if p.is_dir() and (p / PARAMS_FILE).is_file() and _valid_name(p.name)
        )
        out = []
        for name in names:
            try:
                out.append(self.collection_info(name))
            except CollectionNotFound:  # deleted meanwhile
                continue
        return out

    def create_collection(self, name: str, params: CollectionParams) -> CollectionInfo:
        path = self._dir(name)
        params = CollectionParams.from_dict(params.validate().to_dict())  # our own copy
        with self._lock:
            self._check_open()
            if name in self._open or (path / PARAMS_FILE).is_file():
                raise CollectionExists(name)
            shard = None
            try:
                if path.exists():  # left over from an interrupted create
                    log.warning("removing the incomplete collection folder %s", path)
                    shutil.rmtree(path)
                path.mkdir(parents=True)
                shard = qe.EdgeShard.create(str(path / SHARD_DIR), _edge_config(params))
                for key in INDEXED_KEYWORD_FIELDS:
                    shard.update(qe.UpdateOperation.create_field_index(key, qe.PayloadSchemaType.Keyword))
                for key in INDEXED_FLOAT_FIELDS:
                    shard.update(qe.UpdateOperation.create_field_index(key, qe.PayloadSchemaType.Float))
                shard.flush()
                _write_json_atomic(path / PARAMS_FILE, params.to_dict())
            except Exception as e:  # noqa: BLE001
                if shard is not None:
                    try:
                        shard.close()
                    except Exception:  # noqa: BLE001
                        pass
                shutil.rmtree(path, ignore_errors=True)
                raise StoreError(f"cannot create collection {name!r}: {e}", where=name) from e
            self._open[name] = _Collection(name, path, shard, params)
        return self.collection_info(name)

    def collection_info(self, name: str) -> CollectionInfo:
        with self._use(name) as col:
            return self._info(col)

    def delete_collection(self, name: str) -> None:
        path = self._dir(name)
        with self._lock:
            self._check_open()
            col = self._open.pop(name, None)
            if col is None and not (path / PARAMS_FILE).is_file():
                raise CollectionNotFound(name)
            try:
                if col is not None:
                    col.close()  # waits for operations in flight
                (path / PARAMS_FILE).unlink(missing_ok=True)  # gone from listings from here on
                shutil.rmtree(path)
            except Exception as e:  # noqa: BLE001
                raise StoreError(f"cannot delete collection {name!r}: {e}", where=name) from e

    # -- points ------------------------------------------------------------------------------------

    def upsert(self, name: str, points: list[Point]) -> None:
        with self._use(name) as col:
            size = col.params.vector_size
            batch = [
                qe.Point(
                    canonical_id(p.id),
                    vector_as_list(p.vector, size, where=f"points[{i}].vector"),
                    dict(p.payload or {}),
                )
                for i, p in enumerate(points)
            ]
            if batch:
                col.shard.update(qe.UpdateOperation.upsert_points(batch))
                col.written(self.flush_interval_s)

    def delete_points(self, name: str, ids: list[str]) -> None:
        with self._use(name) as col:
            point_ids: list[Any] = [canonical_id(i) for i in ids]
            if point_ids:
                col.shard.update(qe.UpdateOperation.delete_points(point_ids))
                col.written(self.flush_interval_s)

    def retrieve(self, name: str, ids: list[str], with_vectors: bool = False) -> list[Point]:
        with self._use(name) as col:
            wanted: list[Any] = list(dict.fromkeys(canonical_id(i) for i in ids))
            if not wanted:
                return []
            records = col.shard.retrieve(wanted, with_payload=True, with_vector=with_vectors)
            found = {str(r.id): _point(r, with_vectors) for r in records}
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
        with self._use(name) as col:
            request = qe.QueryRequest(
                limit=limit,
                query=qe.Query.Nearest(vector_as_list(vector, col.params.vector_size)),
                filter=_filter(filters),
                score_threshold=None if score_threshold is None else float(score_threshold),
                with_payload=True,
                with_vector=False,
            )
            return [
                ScoredPoint(id=str(p.id), score=float(p.score), payload=dict(p.payload or {}))
                for p in col.shard.query(request)
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
        with self._use(name) as col:
            records, next_offset = col.shard.scroll(
                qe.ScrollRequest(
                    offset=None if offset is None else canonical_id(offset),
                    limit=limit,
                    filter=_filter(filters),
                    with_payload=True,
                    with_vector=with_vectors,
                )
            )
            points = [_point(r, with_vectors) for r in records]
            return points, None if next_offset is None else str(next_offset)

    def count(self, name: str, filters: SearchFilters | None = None) -> int:
        with self._use(name) as col:
            return int(col.shard.count(qe.CountRequest(exact=True, filter=_filter(filters))))

    def facet(self, name: str, key: str, limit: int = 50) -> list[tuple[str, int]]:
        check_limit(limit)
        with self._use(name) as col:
            if key in INDEXED_KEYWORD_FIELDS:
                # Ask for more than needed: values whose points were all deleted still come back
                # (count 0) until the segment is optimised, and would take places in the top list.
                response = col.shard.facet(qe.FacetRequest(key, limit=limit + 100, exact=True))
                return sort_facets({h.value: h.count for h in response.hits}, limit)
            # The shard facets only indexed keyword fields: count by scrolling.
            counts: dict[Any, int] = {}
            offset = None
            while True:
                records, offset = col.shard.scroll(
                    qe.ScrollRequest(
                        offset=offset,
                        limit=_SCROLL_PAGE,
                        with_payload=qe.PayloadSelector.Include([key]),
                        with_vector=False,
                    )
                )
                for r in records:
                    _count_values((r.payload or {}).get(key), counts)
                if offset is None:
                    return sort_facets(counts, limit)

    # -- maintenance -------------------------------------------------------------------------------

    def optimize_collection(self, name: str) -> bool:
        """Build the HNSW index (and quantized vectors) of a collection. MAINTENANCE ONLY.

        Blocks until done and holds the GIL for the whole run (7.5 s at 20k x 128-d, ~164 s at
        100k x 384-d on 2 cores): every other Python thread of the process stalls. Run it from a
        separate process or a maintenance command, never from a serving process. Returns True if
        anything was optimised (nothing is below the indexing threshold, ~10 MB of vectors).
        """
        with self._use(name) as col:
            return bool(col.shard.optimize())

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


def _valid_name(name: str) -> bool:
    try:
        validate_collection_name(name)
        return True
    except SightlineError:
        return False


def _point(record: Any, with_vectors: bool) -> Point:
    vector = record.vector if with_vectors else None
    if vector is not None and not isinstance(vector, list):
        vector = list(vector)
    return Point(id=str(record.id), vector=vector, payload=dict(record.payload or {}))


def _count_values(value: Any, counts: dict[Any, int]) -> None:
    values = value if isinstance(value, list) else [value]
    for v in values:
        if isinstance(v, (str, int, bool)):
            counts[v] = counts.get(v, 0) + 1
