"""The store process of `edge_process.EdgeProcessStore`, and the launcher that forks it.

``python -m sightline.ingest.vectors._edge_server FD`` is the launcher: it imports the engine once, runs no
thread, and forks a store process for each request its parent sends on the socket FD (the store's folder and
flush interval, with the sockets and the sentinel pipe the child keeps). It ends when its parent is gone; the
children it forked end on their own. A store process serves each socket in a thread of its own: a request is
``(operation, args, kwargs)``, the reply ``("ok", result)`` or ``("error", (type, args, attributes))``.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from sightline.errors import SightlineError
from sightline.ingest.vectors.base import StoreError

logger = logging.getLogger(__name__)

CONNECTIONS = 8
LOCK_NAME = ".store.lock"
LOCK_WAIT_S = 120.0
CLOSE_WAIT_S = 10.0
CLOSE = "close"
# What a parent may call: the store's public operations.
CALLS = frozenset({
    "list_collections", "create_collection", "collection_info", "delete_collection", "upsert", "delete_points",
    "retrieve", "search", "scroll", "count", "facet", "scroll_ordered", "search_text", "set_payload", "sample",
    "search_batch", "build_index",
})


def _error_reply(e: BaseException) -> tuple[str, Any]:
    if not isinstance(e, SightlineError):
        logger.exception("vector store call failed")
        e = StoreError(f"vector store failed: {type(e).__name__}: {e}")
    return ("error", (type(e), e.args, dict(e.__dict__)))


def launch(sock: socket.socket) -> None:
    """The launcher's main: fork a store process for each request, until the parent is gone."""
    import sightline.ingest.vectors.edge  # noqa: F401 - once, before any fork

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the children
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(sock, 4096, CONNECTIONS + 1)
        except OSError:
            return
        if not message:
            return
        pid = os.fork()
        if pid == 0:
            sock.close()
            _run_child(json.loads(message), fds)
        for fd in fds:
            os.close(fd)
        sock.sendall(b"%d\n" % pid)


def _run_child(config: dict, fds: list[int]) -> None:
    """A forked store process: serve, then end (its last fd, the sentinel, closes with it)."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # its own children's exit statuses (an index build's) count
    code = 0
    try:
        _serve(Path(config["root"]), float(config["flush_interval_s"]), [Connection(fd) for fd in fds[:-1]])
    except BaseException:  # noqa: BLE001 - logged, and the process ends
        logger.exception("the vector store's process failed")
        code = 1
    finally:
        os._exit(code)


def _serve(root: Path, flush_interval_s: float, connections: list[Connection]) -> None:
    """Open the store, serve each connection in a thread, close the store when done."""
    from sightline.ingest.vectors.edge import EdgeStore

    launcher = os.getppid()
    try:
        store = EdgeStore(root, flush_interval_s=flush_interval_s)  # makes the folder; opens no shard yet
        lock = _hold_lock(root)
    except BaseException as e:  # noqa: BLE001 - the parent raises it
        connections[0].send(_error_reply(e))
        return
    connections[0].send(("ok", None))
    done = threading.Event()
    threads = [threading.Thread(target=_serve_connection, args=(store, conn, done), daemon=True)
               for conn in connections]
    for thread in threads:
        thread.start()
    _wait_for_end(threads, done, launcher)
    try:
        _close(store)
    finally:
        os.close(lock)


def _wait_for_end(threads: list[threading.Thread], done: threading.Event, launcher: int) -> None:
    """Until the parent asked to close, or it is gone: every connection ended, or the launcher did (which ends
    with the parent), a long call (an index build) still running."""
    while not done.wait(0.5):
        if not any(thread.is_alive() for thread in threads) or os.getppid() != launcher:
            return


def _close(store: Any) -> None:
    """Close the store (its shards flushed), waiting `CLOSE_WAIT_S` at most for the calls still running; past
    that the process ends anyway: the write-ahead log keeps every acknowledged write, and a build in progress
    ends with it (and its folder is removed at the next opening)."""
    closing = threading.Thread(target=store.close, daemon=True)
    closing.start()
    closing.join(CLOSE_WAIT_S)
    if closing.is_alive():
        logger.warning("the vector store's calls did not end in %.0f s; its process ends without them", CLOSE_WAIT_S)


def _serve_connection(store: Any, conn: Connection, done: threading.Event) -> None:
    while True:
        try:
            method, args, kwargs = conn.recv()
        except (EOFError, OSError):
            return
        if method == CLOSE:
            reply = _run(store.close, (), {})
            done.set()
        elif method in CALLS:
            reply = _run(getattr(store, method), args, kwargs)
        else:
            reply = _error_reply(StoreError(f"the vector store has no operation {method!r}"))
        if not _send(conn, reply):
            return


def _send(conn: Connection, reply: tuple[str, Any]) -> bool:
    """Send the reply (an error if it cannot be pickled); False when the parent is gone."""
    try:
        conn.send(reply)
    except (EOFError, OSError):
        return False
    except Exception as e:  # noqa: BLE001 - pickling
        return _send(conn, _error_reply(StoreError(f"the vector store's answer could not be sent: {e}")))
    return True


def _run(function: Any, args: tuple, kwargs: dict) -> tuple[str, Any]:
    try:
        return ("ok", function(*args, **kwargs))
    except BaseException as e:  # noqa: BLE001 - the parent raises it
        return _error_reply(e)


def _hold_lock(root: Path) -> int:
    """An exclusive lock on the store's folder, waiting for a previous child still closing its shards."""
    fd = os.open(root / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    deadline = time.monotonic() + LOCK_WAIT_S
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() > deadline:
                os.close(fd)
                raise StoreError(f"another process kept the vector store {root} open for {LOCK_WAIT_S:.0f} s")
            time.sleep(0.05)
        except OSError as e:
            with suppress(OSError):
                os.close(fd)
            raise StoreError(f"cannot lock the vector store {root}: {e}") from e


if __name__ == "__main__":
    launch(socket.socket(fileno=int(sys.argv[1])))
