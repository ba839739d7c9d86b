"""The store process of `edge_process.EdgeProcessStore`, and the launcher that forks it.

``python -m sightline.ingest.vectors._edge_server FD`` is the launcher: it imports the engine once, runs no
thread, and forks a store process for each request its parent sends on the socket FD (the store's folder and
flush interval, with the sockets and the sentinel pipe the child keeps), and answers its pid. It ends when its
parent is gone; the children it forked end on their own. `Launcher` is the parent's end.

A store process serves each socket in a thread of its own: a request is ``(operation, args, kwargs)``, the
reply ``("ok", result)`` or ``("error", (type, args, attributes))``, both pickled. It writes a byte on the
sentinel pipe every `BEAT_S` (its parent's sign of life), gives the memory of a large call back (`_trim`), and
kills its own children (an index build) when it ends.
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import logging
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import suppress
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from sightline.errors import SightlineError
from sightline.ingest.vectors.base import StoreError
from sightline.lifetime import children

logger = logging.getLogger(__name__)

CONNECTIONS = 8
LOCK_NAME = ".store.lock"
LOCK_WAIT_S = 120.0
CLOSE_WAIT_S = 10.0
FORK_TIMEOUT_S = 30.0  # the launcher's answer to a fork (ms when it is well)
TRIM_BYTES = 1 << 20  # a call whose request and reply weigh more gives its freed memory back (`_trim`)
BEAT_S = 0.5  # a store process writes a byte on its sentinel pipe this often: its parent's sign of life
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
    threading.Thread(target=_beat, args=(fds[-1],), daemon=True).start()
    code = 0
    try:
        _serve(Path(config["root"]), float(config["flush_interval_s"]), [Connection(fd) for fd in fds[:-1]])
    except BaseException:  # noqa: BLE001 - logged, and the process ends
        logger.exception("the vector store's process failed")
        code = 1
    finally:
        _end_children()
        os._exit(code)


def _end_children() -> None:
    """Kill this process's children (an index build), which would outlive it if it ended before they had set
    their own death signal (`die_with_parent`, after their imports): nothing waits for them any more."""
    with suppress(OSError):
        for pid in children():
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _beat(fd: int) -> None:
    """A byte on the sentinel pipe every `BEAT_S` while this process runs Python (not stopped, its GIL not held
    for ever by the engine): the parent kills a store process silent during a call."""
    os.set_blocking(fd, False)
    while True:
        try:
            os.write(fd, b".")
        except BlockingIOError:
            pass  # the parent has not read them for hours: it has enough
        except OSError:
            return  # the parent closed its end
        time.sleep(BEAT_S)


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
            request = conn.recv_bytes()
        except (EOFError, OSError):
            return
        reply = _reply(store, request, done)  # bytes: nothing of the call stays alive while this thread waits
        try:
            conn.send_bytes(reply)
        except (EOFError, OSError):
            return
        if len(request) + len(reply) > TRIM_BYTES:
            del request, reply
            _trim()


def _reply(store: Any, request: bytes, done: threading.Event) -> bytes:
    """The pickled reply to a pickled request (an error if the answer cannot be pickled)."""
    try:
        reply = ("ok", _dispatch(store, request, done))
    except BaseException as e:  # noqa: BLE001 - the parent raises it
        reply = _error_reply(e)
    try:
        return pickle.dumps(reply, pickle.HIGHEST_PROTOCOL)
    except Exception as e:  # noqa: BLE001 - pickling
        return pickle.dumps(_error_reply(StoreError(f"the vector store's answer could not be sent: {e}")))


def _dispatch(store: Any, request: bytes, done: threading.Event) -> Any:
    method, args, kwargs = pickle.loads(request)
    if method == CLOSE:
        try:
            return store.close()
        finally:
            done.set()
    if method not in CALLS:
        raise StoreError(f"the vector store has no operation {method!r}")
    return getattr(store, method)(*args, **kwargs)


def _trim() -> None:
    """Give the freed memory of a large call back to the system: each connection's thread has a malloc arena of
    its own, which kept it (10k x 384-d points upserted, scrolled and searched: 453 MB of the store process's
    anonymous memory against 70 MB trimmed, 115 MB for the whole service with the store inline)."""
    with suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)


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


# -- the parent's side ------------------------------------------------------------------------------


class Launcher:
    """The parent's end of the launcher process, started on first use and again if it died or stopped
    answering."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None
        self._socket: socket.socket | None = None

    def fork(self, config: dict) -> tuple[int, list[Connection], int]:
        """A new store process for ``config``: its pid, the parent's connections, its sentinel."""
        pairs = [socket.socketpair() for _ in range(CONNECTIONS)]
        sentinel, sentinel_child = os.pipe()
        try:
            with self._lock:
                pid = self._ask(config, [b.fileno() for _, b in pairs] + [sentinel_child])
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

    def _ask(self, config: dict, fds: list[int]) -> int:
        sock = self._running()
        try:
            socket.send_fds(sock, [json.dumps(config).encode()], fds)
            pid = _read_pid(sock)
        except OSError as e:  # a timeout too: a launcher stopped; the next store starts another
            self._discard()
            raise StoreError(f"the vector store's launcher process failed: {e or type(e).__name__}") from e
        if not pid:
            raise StoreError("the vector store's launcher process ended")
        return pid

    def _discard(self) -> None:
        if self._process is not None:
            self._process.kill()
            with suppress(subprocess.TimeoutExpired):
                self._process.wait(5)
        self.forget()

    def forget(self) -> None:
        """Close the socket to the launcher (in a forked copy of the parent: its copy), to start another."""
        self._lock = threading.Lock()
        if self._socket is not None:
            self._socket.close()
        self._process = self._socket = None

    def _running(self) -> socket.socket:
        if self._process is not None and self._process.poll() is None and self._socket is not None:
            return self._socket
        if self._socket is not None:
            self._socket.close()
        ours, theirs = socket.socketpair()
        with theirs:
            self._process = subprocess.Popen([sys.executable, "-m", __name__, str(theirs.fileno())],
                                             pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL)
        ours.settimeout(FORK_TIMEOUT_S)
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


_the_launcher = Launcher()


def launcher() -> Launcher:
    return _the_launcher


if __name__ == "__main__":
    launch(socket.socket(fileno=int(sys.argv[1])))
