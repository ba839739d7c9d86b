"""The embedded store in a process of its own (`EdgeProcessStore`): what the ingestion service runs.

qdrant-edge-py holds the GIL in `EdgeShard.load`, `close` and `flush` (docs/scaling.md): in the serving
process, the switch-over of an index build (0.5 s to close a never-built 1M-point shard) and a flush waiting for
a busy disk (0.5-3 s) stopped every thread, the event loop with them. In a child process they stop only the
child's threads. Each call crosses a socket, its arguments and result pickled.

Children are forked by a launcher (`_edge_server`, one per serving process, started with its first store),
which imported the engine once and runs no thread: a child starts in a few ms. A child serves each of its
`CONNECTIONS` sockets in a thread of its own, so up to that many calls run at once (an index build holds one
for its whole run). It closes the store (shards flushed) and ends when the parent closes the store, or when
every socket reaches its end: the parent died. The launcher and the children ignore SIGINT and SIGTERM, which
a terminal or a service manager sends to the whole group: the parent decides.

A child that dies (the engine crashed) fails the calls in flight with STORE_FAILED, and the next call starts
another, which opens the shards again from their files (the write-ahead log holds every acknowledged write).
A child holds `_edge_server.LOCK_NAME` in the store's folder while its shards may be open, so a child still closing them
after its parent died and the next one never have a shard open at once.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import select
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from sightline.errors import SightlineError
from sightline.ingest.vectors import _edge_server
from sightline.ingest.vectors._edge_server import CLOSE, CONNECTIONS
from sightline.ingest.vectors.base import (
    CollectionInfo,
    CollectionParams,
    Point,
    ScoredPoint,
    SearchFilters,
    StoreError,
    VectorStore,
)

logger = logging.getLogger(__name__)

START_TIMEOUT_S = 120.0  # opening the store: its folder, waiting for a previous child's lock
STOP_TIMEOUT_S = 60.0


class EdgeProcessStore(VectorStore):
    """`EdgeStore(root, flush_interval_s=...)` run in a child process; the same operations and errors."""

    backend = "embedded"

    def __init__(self, root: Path, *, flush_interval_s: float = 0.0):
        self.root = Path(root)
        self.flush_interval_s = float(flush_interval_s)
        self._lock = threading.Lock()  # guards _child and _closed
        self._closed = False
        self._child: _Child | None = None
        self._running()  # the store's folder is checked now: a broken one fails the service's start

    @property
    def pid(self) -> int | None:
        """The store process's pid (None before the first or after the last)."""
        child = self._child
        return None if child is None else child.pid

    # -- the child ---------------------------------------------------------------------------------

    def _running(self) -> _Child:
        with self._lock:
            if self._closed:
                raise StoreError("the vector store is closed")
            child = self._child
            if child is None or child.ended():
                if child is not None:
                    logger.error("the vector store's process %d ended; starting another", child.pid)
                    child.stop()
                self._child = child = _Child.start(self.root, self.flush_interval_s)
            return child

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return self._running().call(method, args, kwargs)

    # -- operations --------------------------------------------------------------------------------

    def list_collections(self) -> list[CollectionInfo]:
        return self._call("list_collections")

    def create_collection(self, name: str, params: CollectionParams) -> CollectionInfo:
        return self._call("create_collection", name, params)

    def collection_info(self, name: str) -> CollectionInfo:
        return self._call("collection_info", name)

    def delete_collection(self, name: str) -> None:
        self._call("delete_collection", name)

    def upsert(self, name: str, points: list[Point]) -> None:
        self._call("upsert", name, list(points))

    def delete_points(self, name: str, ids: list[str]) -> None:
        self._call("delete_points", name, list(ids))

    def retrieve(self, name: str, ids: list[str], with_vectors: bool = False) -> list[Point]:
        return self._call("retrieve", name, list(ids), with_vectors)

    def search(
        self,
        name: str,
        vector: list[float],
        *,
        limit: int = 20,
        score_threshold: float | None = None,
        filters: SearchFilters | None = None,
    ) -> list[ScoredPoint]:
        return self._call("search", name, vector, limit=limit, score_threshold=score_threshold, filters=filters)

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
        return self._call("scroll", name, limit=limit, offset=offset, filters=filters, with_vectors=with_vectors,
                          payload_keys=payload_keys)

    def count(self, name: str, filters: SearchFilters | None = None) -> int:
        return self._call("count", name, filters)

    def facet(self, name: str, key: str, limit: int = 50) -> list[tuple[str, int]]:
        return self._call("facet", name, key, limit)

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
        return self._call("scroll_ordered", name, order_key=order_key, descending=descending, limit=limit,
                          cursor=cursor, filters=filters)

    def search_text(
        self, name: str, text: str, *, limit: int = 20, filters: SearchFilters | None = None
    ) -> list[ScoredPoint]:
        return self._call("search_text", name, text, limit=limit, filters=filters)

    def set_payload(self, name: str, ids: list[str], payload: dict) -> None:
        self._call("set_payload", name, list(ids), payload)

    def sample(self, name: str, limit: int, filters: SearchFilters | None = None) -> list[Point]:
        return self._call("sample", name, limit, filters)

    def search_batch(
        self,
        name: str,
        vectors: list[list[float]],
        *,
        limit: int = 20,
        score_threshold: float | None = None,
        filters: SearchFilters | None = None,
    ) -> list[list[ScoredPoint]]:
        return self._call("search_batch", name, vectors, limit=limit, score_threshold=score_threshold,
                          filters=filters)

    def build_index(self, name: str, indexing_threshold_kb: int | None = None) -> Any:
        """`EdgeStore.build_index`, run by the child (which runs the build in a child of its own)."""
        return self._call("build_index", name, indexing_threshold_kb)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            child, self._child = self._child, None
        if child is not None:
            child.close()


class _Child:
    """One store process and the parent's ends of its sockets (a pool: one call at a time on each)."""

    def __init__(self, pid: int, connections: list[Connection], sentinel: int):
        self.pid = pid
        self._connections = connections
        self._sentinel = sentinel  # readable (at its end) once the child is gone
        self._free: queue.SimpleQueue[Connection] = queue.SimpleQueue()
        for conn in connections:
            self._free.put(conn)

    @classmethod
    def start(cls, root: Path, flush_interval_s: float) -> _Child:
        child = cls(*_launcher().fork({"root": str(root), "flush_interval_s": flush_interval_s}))
        first = child._connections[0]
        try:
            if not first.poll(START_TIMEOUT_S):
                raise StoreError(f"the vector store's process did not open {root} in {START_TIMEOUT_S:.0f} s")
            _answer(first.recv())
        except (EOFError, OSError) as e:
            child.stop()
            raise StoreError(f"the vector store's process ended while opening {root}") from e
        except SightlineError:
            child.stop()
            raise
        return child

    def ended(self) -> bool:
        return bool(select.select([self._sentinel], [], [], 0)[0])

    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        conn = self._free.get()
        try:
            yield conn
        finally:
            self._free.put(conn)  # a broken one too: whoever takes it next learns the child ended at once

    def call(self, method: str, args: tuple, kwargs: dict) -> Any:
        with self._connection() as conn:
            try:
                conn.send((method, args, kwargs))
                reply = conn.recv()
            except (EOFError, OSError) as e:
                raise StoreError(f"the vector store's process ended during {method}; the next request starts "
                                 "it again") from e
        return _answer(reply)

    def close(self) -> None:
        """Ask the child to close the store (its errors raised here), then wait for it to end."""
        try:
            self.call(CLOSE, (), {})
        except StoreError:
            if not self.ended():
                raise
        finally:
            self.stop()

    def stop(self) -> None:
        for conn in self._connections:
            conn.close()
        if not select.select([self._sentinel], [], [], STOP_TIMEOUT_S)[0]:
            # Closing took longer than anything should: the write-ahead log keeps its writes.
            logger.error("the vector store's process did not end in %.0f s; killing it", STOP_TIMEOUT_S)
            with suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
        os.close(self._sentinel)


class _Launcher:
    """The parent's end of the launcher process, started on first use and again if it died."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None
        self._socket: socket.socket | None = None

    def fork(self, config: dict) -> tuple[int, list[Connection], int]:
        """A new store process for ``config``: its pid, the parent's connections, its sentinel."""
        pairs = [socket.socketpair() for _ in range(CONNECTIONS)]
        sentinel, sentinel_child = os.pipe()
        child_fds = [b.fileno() for _, b in pairs] + [sentinel_child]
        try:
            with self._lock:
                sock = self._running()
                socket.send_fds(sock, [json.dumps(config).encode()], child_fds)
                pid = _read_pid(sock)
            if not pid:
                raise StoreError("the vector store's launcher process ended")
        except BaseException:
            os.close(sentinel)
            for a, _ in pairs:
                a.close()
            raise
        finally:
            os.close(sentinel_child)
            for _, b in pairs:
                b.close()
        return pid, [Connection(a.detach()) for a, _ in pairs], sentinel

    def _running(self) -> socket.socket:
        if self._process is not None and self._process.poll() is None and self._socket is not None:
            return self._socket
        if self._socket is not None:
            self._socket.close()
        ours, theirs = socket.socketpair()
        with theirs:
            self._process = subprocess.Popen(
                [sys.executable, "-m", _edge_server.__name__, str(theirs.fileno())], pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
            )
        self._socket = ours
        return ours


def _read_pid(sock: socket.socket) -> int:
    """The launcher's answer, a line; 0 when it ended."""
    line = b""
    while not line.endswith(b"\n"):
        chunk = sock.recv(32)
        if not chunk:
            return 0
        line += chunk
    return int(line)


_the_launcher = _Launcher()


def _launcher() -> _Launcher:
    return _the_launcher


def _answer(reply: tuple[str, Any]) -> Any:
    kind, value = reply
    if kind == "ok":
        return value
    cls, args, state = value
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    raise error
