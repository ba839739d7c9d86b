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
another, which opens the shards again from their files (the write-ahead log holds every acknowledged write);
a call that may be sent twice (`AGAIN`: reads, and writes of stable ids) is sent to the new child once. A child
writes a byte on its sentinel pipe every `_edge_server.BEAT_S`; one silent for `HUNG_S` during a call (stopped,
or the engine holding its GIL) is killed and the call fails, while a long call that beats (a build) waits.
A process forked from the parent (no exec) closes its copies of the sockets (`_forget_in_fork`).
A child holds `_edge_server.LOCK_NAME` in the store's folder while its shards may be open, so a child still closing them
after its parent died and the next one never have a shard open at once.
"""

from __future__ import annotations

import logging
import os
import pickle
import queue
import select
import signal
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from sightline.errors import SightlineError
from sightline.ingest.vectors import _edge_server
from sightline.ingest.vectors._edge_server import CLOSE
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
# Sent again (once) to the next process when the one it was sent to ended: the same call twice is one (stable
# point ids), and a job's upsert cut by a crash does not fail its files.
AGAIN = frozenset({
    "list_collections", "collection_info", "upsert", "delete_points", "retrieve", "search", "scroll", "count",
    "facet", "scroll_ordered", "search_text", "set_payload", "sample", "search_batch",
})
HUNG_S = 30.0  # a child that gives no sign of life that long during a call is killed


class EdgeProcessStore(VectorStore):
    """`EdgeStore(root, flush_interval_s=...)` run in a child process; the same operations and errors."""

    backend = "embedded"

    def __init__(self, root: Path, *, flush_interval_s: float = 0.0):
        self.root = Path(root)
        self.flush_interval_s = float(flush_interval_s)
        self._lock = threading.Lock()  # guards _child and _closed
        self._closed = False
        self._child: _Child | None = None
        _stores.add(self)
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
        try:
            return self._running().call(method, args, kwargs)
        except _Ended:
            if method not in AGAIN:
                raise
            logger.warning("the vector store's process ended during %s; sending it to the next one", method)
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


class _Ended(StoreError):
    """The store process ended while it had the call."""


class _Child:
    """One store process and the parent's ends of its sockets (a pool: one call at a time on each)."""

    def __init__(self, pid: int, connections: list[Connection], sentinel: int):
        self.pid = pid
        self._connections = connections
        self._sentinel = sentinel  # the child's beats, then its end once it is gone
        os.set_blocking(sentinel, False)
        self._pulse = threading.Lock()  # guards reading and closing the sentinel
        self._beat_at = time.monotonic()
        self._free: queue.SimpleQueue[Connection] = queue.SimpleQueue()
        for conn in connections:
            self._free.put(conn)

    @classmethod
    def start(cls, root: Path, flush_interval_s: float) -> _Child:
        child = cls(*_edge_server.launcher().fork({"root": str(root), "flush_interval_s": flush_interval_s}))
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

    def _alive(self) -> bool:
        """Read the beats waiting on the sentinel pipe (the child writes one each `BEAT_S`); False at its end."""
        with self._pulse:
            while self._sentinel >= 0:
                try:
                    if not os.read(self._sentinel, 4096):
                        return False
                except BlockingIOError:
                    return True
                self._beat_at = time.monotonic()
            return False

    def ended(self) -> bool:
        return not self._alive()

    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        conn = self._free.get()
        try:
            yield conn
        finally:
            self._free.put(conn)  # a broken one too: whoever takes it next learns the child ended at once

    def call(self, method: str, args: tuple, kwargs: dict) -> Any:
        request = pickle.dumps((method, args, kwargs), pickle.HIGHEST_PROTOCOL)  # the caller's errors: none sent
        with self._connection() as conn:
            try:
                conn.send_bytes(request)
                self._wait_reply(conn, method)
                reply = conn.recv_bytes()
            except (EOFError, OSError) as e:
                raise _Ended(f"the vector store's process ended during {method}; the next request starts "
                             "it again") from e
            except BaseException:
                # Interrupted (or the child hung): its reply would reach the next call on this connection.
                self.kill(f"{method} was left waiting on it")
                raise
        try:
            return _answer(pickle.loads(reply))
        except SightlineError:
            raise
        except Exception as e:  # noqa: BLE001 - e.g. an error class this process cannot load
            raise StoreError(f"the vector store's answer to {method} could not be read: {e}") from e

    def _wait_reply(self, conn: Connection, method: str) -> None:
        """Until the reply is there or the child ended; a child silent for `HUNG_S` (stopped, or stuck holding
        its GIL) is killed, the call failing with STORE_FAILED. A long call that lets the child beat (an index
        build, whose work runs in a child of the child) waits as long as it needs."""
        while not conn.poll(_edge_server.BEAT_S):
            if not self._alive():
                return  # the reply, or the end of the socket
            silent = time.monotonic() - self._beat_at
            if silent > HUNG_S:
                raise StoreError(f"the vector store's process did not answer {method} and gave no sign of life "
                                 f"for {silent:.0f} s (stopped or hung); it was killed, the next request starts "
                                 "it again")

    def kill(self, why: str) -> None:
        """End the child now (its write-ahead log keeps every acknowledged write) and wait for its end."""
        if self._alive():
            logger.error("killing the vector store's process %d: %s", self.pid, why)
            with suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            self._wait_end(STOP_TIMEOUT_S)

    def _wait_end(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self._alive():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            with suppress(ValueError, OSError):  # closed meanwhile by `stop`: ended for this caller
                select.select([self._sentinel], [], [], left)
        return True

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
        self.forget()
        if not self._wait_end(STOP_TIMEOUT_S):
            # Closing took longer than anything should: the write-ahead log keeps its writes.
            self.kill(f"it did not end in {STOP_TIMEOUT_S:.0f} s")
        with self._pulse:
            os.close(self._sentinel)
            self._sentinel = -1

    def forget(self) -> None:
        """Close the parent's ends of the sockets (the child ends when it has read them all)."""
        for conn in self._connections:
            conn.close()

    def abandon(self) -> None:
        """In a process forked from the parent: close its copies of the sockets and of the sentinel."""
        self.forget()
        with suppress(OSError):
            os.close(self._sentinel)
        self._sentinel = -1


_stores: weakref.WeakSet[EdgeProcessStore] = weakref.WeakSet()


def _forget_in_fork() -> None:
    """In a process forked from this one without exec (subprocess execs, and passes none of these): close the
    copies of the pools' and the launcher's sockets, which would keep the store processes of a dead parent
    alive, and the copies of the stores (two processes cannot share a pool)."""
    for store in list(_stores):
        store._lock, store._closed = threading.Lock(), True
        child, store._child = store._child, None
        if child is not None:
            child.abandon()
    _edge_server.launcher().forget()


os.register_at_fork(after_in_child=_forget_in_fork)


def _answer(reply: tuple[str, Any]) -> Any:
    kind, value = reply
    if kind == "ok":
        return value
    cls, args, state = value
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    raise error
