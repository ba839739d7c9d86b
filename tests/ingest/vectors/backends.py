"""The adapters as the tests see them: the embedded edge shard, in this process or in its own (what the
service runs), and qdrant-client local mode standing in for a Qdrant server."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from sightline.ingest.vectors import VectorStore, open_store


@dataclass(frozen=True)
class Backend:
    """What a test needs to know of one adapter, and what it reports."""

    id: str
    name: str  # VectorStore.backend
    status: str  # CollectionInfo.status of a healthy collection
    # CollectionInfo.ignored_params of a collection that sets every tuning parameter.
    ignored_when_all_set: list[str]
    own_process: bool = False  # open_store's

    def url(self, data_dir: Path) -> str | None:
        return None if self.name == "embedded" else f"local:{data_dir / 'qdrant'}"

    def collection_dir(self, data_dir: Path, name: str) -> Path:
        if self.name == "embedded":
            return data_dir / "collections" / name
        return data_dir / "qdrant" / "collection" / name


EDGE = Backend("edge", "embedded", "ok", ["hnsw_m", "hnsw_ef_construct", "quantization"])
EDGE_PROCESS = Backend("edge-process", "embedded", "ok", EDGE.ignored_when_all_set, own_process=True)
QDRANT_LOCAL = Backend("qdrant-local", "qdrant", "green", ["on_disk", "hnsw_m", "hnsw_ef_construct", "quantization"])
BACKENDS = [EDGE, EDGE_PROCESS, QDRANT_LOCAL]
BACKEND_IDS = [b.id for b in BACKENDS]


@dataclass
class Opener:
    """Opens (and reopens) the store of one backend on one data folder; `close_all` closes them."""

    backend: Backend
    data_dir: Path
    opened: list[VectorStore] = field(default_factory=list)

    def __call__(self) -> VectorStore:
        store = open_store(self.data_dir, qdrant_url=self.backend.url(self.data_dir),
                           own_process=self.backend.own_process)
        self.opened.append(store)
        return store

    def close_all(self) -> None:
        for store in self.opened:
            store.close()


KILLED_WRITER = """
import os, sys, uuid
sys.path.insert(0, {src!r})
from sightline.ingest.vectors import CollectionParams, Point, open_store
store = open_store({data!r}, qdrant_url={url!r}, flush_interval_s={flush!r})
store.create_collection("k", CollectionParams(vector_size=2))
store.upsert("k", [Point(str(uuid.UUID(int=i + 1)), [1.0, float(i)], {{"i": i}}) for i in range(50)])
os._exit(0)  # no close(), no flush at exit: as if killed right after the upsert was acknowledged
"""


def run_killed_writer(opener: Opener, flush_interval_s: float = 0.0) -> None:
    """Write 50 points in a child process that exits without closing the store."""
    src = str(Path(__file__).resolve().parents[3] / "src")
    code = KILLED_WRITER.format(
        src=src, data=str(opener.data_dir), url=opener.backend.url(opener.data_dir), flush=flush_interval_s
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
