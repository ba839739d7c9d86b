"""One collection of the embedded store on disk: its folder, its open shard, and when it is flushed.

Layout of a collection's folder (``<data_dir>/collections/<name>/``)::

    sightline.json   CollectionParams (metadata included); written last, so a folder without it is an
                     interrupted create and is neither listed nor opened
    shard/           the edge shard (its own edge_config.json, WAL and segments)
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import qdrant_edge as qe

from sightline.ingest.vectors._rwlock import RWLock
from sightline.ingest.vectors.base import (
    DISTANCES,
    INDEXED_FLOAT_FIELDS,
    INDEXED_KEYWORD_FIELDS,
    CollectionParams,
    StoreError,
)

log = logging.getLogger(__name__)

PARAMS_FILE = "sightline.json"
SHARD_DIR = "shard"
_DISTANCES = {name: getattr(qe.Distance, name) for name in DISTANCES}


def is_complete(path: Path) -> bool:
    """Whether ``path`` holds a collection (its params file is written last)."""
    return (path / PARAMS_FILE).is_file()


def remove_folder(path: Path) -> None:
    """Delete a collection's folder, its params file first: from then on it is not listed."""
    (path / PARAMS_FILE).unlink(missing_ok=True)
    shutil.rmtree(path)


class EdgeCollection:
    """An open shard and its parameters. ``lock`` is held for reading by every operation and for
    writing by `close`, so closing (and deleting) waits for the operations in flight."""

    def __init__(
        self, path: Path, shard: qe.EdgeShard, params: CollectionParams, clock: Callable[[], float] = time.monotonic
    ):
        self.name = path.name
        self.path = path
        self.shard = shard
        self.params = params
        self.lock = RWLock()
        self.closed = False
        self.clock = clock
        self.last_flush = clock()
        self.dirty = False

    @classmethod
    def create(cls, path: Path, params: CollectionParams) -> EdgeCollection:
        """A new collection in ``path``: the shard with its payload indexes, flushed, then the params
        file. On failure nothing is left behind."""
        return cls(path, _create_shard(path, params), params)

    @classmethod
    def load(cls, path: Path) -> EdgeCollection:
        try:
            params = CollectionParams.from_dict(json.loads((path / PARAMS_FILE).read_text("utf-8")))
            shard = qe.EdgeShard.load(str(path / SHARD_DIR))
        except Exception as e:  # noqa: BLE001 - any backend failure is a store failure
            hint = " (is another process using this data folder?)" if "WouldBlock" in str(e) else ""
            raise StoreError(f"cannot open collection {path.name!r}: {e}{hint}", where=path.name) from e
        return cls(path, shard, params)

    def written(self, interval_s: float) -> None:
        """Flush after a write, or at most every ``interval_s`` seconds when that is positive."""
        now = self.clock()
        if interval_s <= 0 or now - self.last_flush >= interval_s:
            self.dirty = False
            self.shard.flush()
            self.last_flush = now
        else:
            self.dirty = True

    def close(self) -> None:
        """Flush what is not yet flushed and close the shard, once operations in flight are done."""
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
        vectors=qe.EdgeVectorParams(size=params.vector_size, distance=_DISTANCES[params.distance], memory=memory),
        payload_memory=memory,
        hnsw_config=qe.HnswIndexConfig(
            m=params.hnsw_m, ef_construct=params.hnsw_ef_construct, full_scan_threshold=10_000
        ),
        quantization_config=quantization,
    )


def _create_shard(path: Path, params: CollectionParams) -> qe.EdgeShard:
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
        return shard
    except Exception as e:  # noqa: BLE001
        if shard is not None:
            try:
                shard.close()
            except Exception:  # noqa: BLE001
                pass
        shutil.rmtree(path, ignore_errors=True)
        raise StoreError(f"cannot create collection {path.name!r}: {e}", where=path.name) from e


def _write_json_atomic(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
