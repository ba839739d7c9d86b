"""One collection of the embedded store on disk: its folder, its open shard, and when it is flushed.

Layout of a collection's folder (``<data_dir>/collections/<name>/``)::

    sightline.json   CollectionParams (metadata included); written last, so a folder without it is an
                     interrupted create and is neither listed nor opened
    shard/           the edge shard (its own edge_config.json, WAL and segments)
    current_shard    the folder of the shard in use when it is not ``shard/``: an index build
                     (`_edge_index`) makes a new one, ``shard-<ns>/``, and switches to it by rewriting this
                     file; any other ``shard*/`` folder is left over from a build and removed on opening

A collection whose files are garbage is `CollectionDamaged`. Some garbage makes the shard's loader abort the
whole process (a garbage length in the id tracker asks for a 50 GB allocation; a mapped read on a full disk
is a SIGBUS), so a shard is first loaded in a child process (~50 ms) and only then in this one.
"""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import qdrant_edge as qe

from sightline.ingest.disk import check_free
from sightline.ingest.vectors._rwlock import RWLock
from sightline.ingest.vectors.base import (
    DISTANCES,
    INDEXED_FLOAT_FIELDS,
    INDEXED_KEYWORD_FIELDS,
    INDEXED_TEXT_FIELDS,
    CollectionDamaged,
    CollectionParams,
    StoreError,
)

logger = logging.getLogger(__name__)

PARAMS_FILE = "sightline.json"
SHARD_DIR = "shard"
CURRENT_FILE = "current_shard"
_DISTANCES = {name: getattr(qe.Distance, name) for name in DISTANCES}
PROBE_TIMEOUT_S = 300.0

# Free space a write needs, beyond `disk.check_free`'s reserve (which covers a new 32 MiB chunk of a growing
# shard). Measured on tmpfs, where every page of the shard's memory-mapped files is allocated: a new collection
# takes 46.2 MiB (12.2 MiB with on_disk; 0.3-0.6 MiB on ext4, where the files stay sparse); a point takes
# about 2 x (vector + payload) + 400 bytes, as the WAL holds a second copy (0.8 KiB at 8-d, 3.4 KiB at 384-d).
CREATE_BYTES = 48 * 1024 * 1024
POINT_OVERHEAD_BYTES = 1024
_PROBE = "import sys, qdrant_edge as qe\nshard = qe.EdgeShard.load(sys.argv[1])\nshard.info()\nshard.close()\n"
_IN_USE_HINT = " (is another process using this data folder?)"


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
        self.shard_dir = path / SHARD_DIR
        # Writes go one at a time through `update`; while an index is built they are also recorded, to be
        # applied again to the new shard (`_edge_index`).
        self.write_gate = threading.Lock()
        self.recording: list[qe.UpdateOperation] | None = None
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
        """Open a collection: `CollectionDamaged` if its files cannot be read, `StoreError` if another
        process holds it."""
        params = read_params(path)
        shard_path = current_shard_dir(path)
        remove_stale_shards(path, shard_path)
        shard_dir = str(shard_path)
        _probe_shard(path.name, shard_dir, params)
        read_into_page_cache(shard_path)  # the probe's load dropped what it read from the page cache
        try:
            shard = qe.EdgeShard.load(shard_dir)
        except Exception as e:  # noqa: BLE001 - any backend failure is a store failure
            _raise_load_error(path.name, str(e), params)
        try:
            added = add_missing_indexes(shard)
        except Exception as e:  # noqa: BLE001
            shard.close()
            raise StoreError(f"cannot index collection {path.name!r}: {e}", where=path.name) from e
        if added:
            logger.info("collection %s: payload indexes added on %s", path.name, ", ".join(added))
        col = cls(path, shard, params)
        col.shard_dir = shard_path
        return col

    def update(self, operation: qe.UpdateOperation) -> None:
        """Apply a write to the shard (and record it while an index is being built)."""
        with self.write_gate:
            self.shard.update(operation)
            if self.recording is not None:
                self.recording.append(operation)

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


def current_shard_dir(path: Path) -> Path:
    """The folder of the shard in use (``shard/`` unless an index build switched to another)."""
    try:
        name = (path / CURRENT_FILE).read_text("utf-8").strip()
    except FileNotFoundError:
        return path / SHARD_DIR
    except OSError as e:
        raise CollectionDamaged(path.name, f"unreadable {CURRENT_FILE}: {e}") from e
    if not name.startswith(SHARD_DIR) or "/" in name or not (path / name).is_dir():
        raise CollectionDamaged(path.name, f"{CURRENT_FILE} names no shard folder: {name!r}")
    return path / name


def set_current_shard(path: Path, shard_dir: Path) -> None:
    """Switch to ``shard_dir`` (atomically: a crash leaves one shard or the other in use)."""
    write_atomic(path / CURRENT_FILE, shard_dir.name)


def remove_stale_shards(path: Path, current: Path) -> None:
    """Remove the shard folders of builds that did not finish or were replaced."""
    for other in path.glob(f"{SHARD_DIR}*"):
        if other.is_dir() and other != current:
            logger.info("removing the stale shard folder %s", other)
            shutil.rmtree(other, ignore_errors=True)


def read_into_page_cache(folder: Path) -> None:
    """Read a shard's files (their data, not the holes of sparse ones) into the page cache, without the GIL.
    The engine's load reads some files in whole and then drops them from the page cache, and so does its close:
    the next load reads them from disk, holding the GIL three times as long (1M x 384-d: 250 ms of CPU
    against 75 ms). So a build's child reads its shard back for the switch-over's load, and opening a
    collection reads it back after the probe child's load."""
    buffer = memoryview(bytearray(1 << 24))
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb", buffering=0) as f:
                _read_data(f, buffer)


def _read_data(f: io.FileIO, buffer: memoryview) -> None:
    fd, offset = f.fileno(), 0
    while True:
        try:
            offset = os.lseek(fd, offset, os.SEEK_DATA)
        except OSError:  # ENXIO: no data from offset on
            return
        hole = os.lseek(fd, offset, os.SEEK_HOLE)
        os.lseek(fd, offset, os.SEEK_SET)
        while offset < hole and (n := f.readinto(buffer[: min(len(buffer), hole - offset)])):
            offset += n
        if offset < hole:  # the file shrank meanwhile
            return


def upsert_bytes(rows: list[tuple[str, list[float], dict]]) -> int:
    """What upserting ``rows`` (id, vector, payload) may take on disk, with 2x slack."""
    return 2 * sum(4 * len(vector) + len(json.dumps(payload, default=str)) + POINT_OVERHEAD_BYTES
                   for _, vector, payload in rows)


def read_params(path: Path) -> CollectionParams:
    try:
        data = json.loads((path / PARAMS_FILE).read_text("utf-8"))
        return CollectionParams.from_dict(data).validate()
    except Exception as e:  # noqa: BLE001 - garbage of any kind
        raise CollectionDamaged(path.name, f"unreadable {PARAMS_FILE}: {e}") from e


def _raise_load_error(name: str, error: str, params: CollectionParams) -> None:
    if "WouldBlock" in error:
        raise StoreError(f"cannot open collection {name!r}: {error}{_IN_USE_HINT}", where=name)
    raise CollectionDamaged(name, f"its shard cannot be opened: {error}", params)


def _probe_shard(name: str, shard_dir: str, params: CollectionParams) -> None:
    """Load the shard in a child process first: garbage that aborts the loader kills the child, not us."""
    try:
        done = subprocess.run([sys.executable, "-I", "-c", _PROBE, shard_dir], capture_output=True, text=True,
                              errors="replace", timeout=PROBE_TIMEOUT_S, env={**os.environ, "RUST_BACKTRACE": "0"})
    except subprocess.TimeoutExpired:
        raise StoreError(f"opening collection {name!r} took over {PROBE_TIMEOUT_S:.0f} s", where=name) from None
    if done.returncode == 0:
        return
    lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
    if done.returncode == -signal.SIGBUS:
        check_free(Path(shard_dir))  # a mapped write on a full disk: DISK_FULL, not damage
    if done.returncode < 0:
        how = signal.Signals(-done.returncode).name
        _raise_load_error(name, f"its loader crashed ({how}){': ' + lines[0] if lines else ''}", params)
    _raise_load_error(name, lines[-1] if lines else f"exit status {done.returncode}", params)


def _index_schemas() -> dict[str, Any]:
    """The payload index of each indexed field. The text index records term frequencies, for BM25. They are
    memory-mapped and read on first use (Cold): an in-RAM index is rebuilt whenever the shard loads, under
    the GIL (an index build's switch-over load at 30k points: 0.32 s of CPU with them, 0.15 s without). Older
    collections' in-RAM indexes move to disk at their next index build (`payload_indexes_to_disk`)."""
    cold = qe.Memory.Cold
    text = qe.TextIndexParams(tokenizer=qe.TokenizerType.Word, lowercase=True, scoring=True, memory=cold)
    return {
        **{key: qe.KeywordIndexParams(memory=cold) for key in INDEXED_KEYWORD_FIELDS},
        **{key: qe.FloatIndexParams(memory=cold) for key in INDEXED_FLOAT_FIELDS},  # range-capable: order_by needs it
        **{key: text for key in INDEXED_TEXT_FIELDS},
    }


def add_missing_indexes(shard: qe.EdgeShard) -> list[str]:
    """Create the payload indexes the shard lacks (all of them for a new shard; those added to Sightline
    since an older collection was made) and flush; the fields indexed now."""
    existing = set(shard.info().payload_schema)
    added = [key for key in _index_schemas() if key not in existing]
    for key in added:
        shard.update(qe.UpdateOperation.create_field_index(key, _index_schemas()[key]))
    if added:
        shard.flush()
    return added


def payload_indexes_to_disk(shard: qe.EdgeShard) -> list[str]:
    """Make again, memory-mapped, the payload indexes a collection made before they were (an index build
    does it in its child process); the fields made again."""
    schemas = _index_schemas()
    in_ram = [key for key, index in shard.info().payload_schema.items()
              if key in schemas and getattr(index.params, "memory", None) != qe.Memory.Cold]
    for key in in_ram:
        shard.update(qe.UpdateOperation.create_field_index(key, schemas[key]))
    return in_ram


def edge_config(
    params: CollectionParams, optimizers: qe.EdgeOptimizersConfig | None = None, indexing_threads: int = 0
) -> qe.EdgeConfig:
    """The shard's config for ``params``; ``optimizers`` and ``indexing_threads`` (0: all cores) matter
    only to an index build. Each segment keeps the memory placement it was written with.

    What an index build writes is memory-mapped and read on first use (Cold): the HNSW graph, the int8
    vectors and the id tracker, as well as the payloads and (`vector_memory`) the original vectors. Read in
    whole (Cached), they were most of what the switch-over's load spends under the GIL: at 1M x 384-d with
    the WAL emptied (`_edge_index.empty_wal`), 345 ms of CPU and 475 MiB with the int8 vectors read in whole,
    75 ms and 105 MiB without (docs/scaling.md). Searches find them in the page cache (p50 unchanged)."""
    cold = qe.Memory.Cold
    quantization = None
    if params.quantization == "int8":
        quantization = qe.ScalarQuantizationConfig(type=qe.ScalarType.Int8, memory=cold)
    return qe.EdgeConfig(
        vectors=qe.EdgeVectorParams(size=params.vector_size, distance=_DISTANCES[params.distance],
                                    memory=vector_memory(params)),
        payload_memory=cold,
        id_tracker_memory=cold,
        hnsw_config=qe.HnswIndexConfig(
            m=params.hnsw_m, ef_construct=params.hnsw_ef_construct, full_scan_threshold=10_000,
            max_indexing_threads=indexing_threads, memory=cold,
        ),
        quantization_config=quantization,
        optimizers=optimizers,
    )


def vector_memory(params: CollectionParams) -> qe.Memory:
    """Where a collection's original vectors live. Cold is memory-mapped and read on first use; Cached is
    memory-mapped too but read in whole when the shard loads, under the GIL, into the RSS (opening 1M x 384-d
    points: 1,959 MiB Cached, 343 MiB Cold). Vectors are Cold when the collection asks for it or keeps an int8
    copy (the originals then only rescore the best candidates); payloads always are (only the hits' payloads
    are read)."""
    return qe.Memory.Cold if params.on_disk or params.quantization == "int8" else qe.Memory.Cached


def _create_shard(path: Path, params: CollectionParams) -> qe.EdgeShard:
    shard = None
    try:
        if path.exists():  # left over from an interrupted create
            logger.warning("removing the incomplete collection folder %s", path)
            shutil.rmtree(path)
        path.mkdir(parents=True)
        shard = qe.EdgeShard.create(str(path / SHARD_DIR), edge_config(params))
        add_missing_indexes(shard)
        write_atomic(path / PARAMS_FILE, json.dumps(params.to_dict(), indent=2, sort_keys=True))
        return shard
    except Exception as e:  # noqa: BLE001
        if shard is not None:
            try:
                shard.close()
            except Exception:  # noqa: BLE001
                pass
        shutil.rmtree(path, ignore_errors=True)
        raise StoreError(f"cannot create collection {path.name!r}: {e}", where=path.name) from e


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
