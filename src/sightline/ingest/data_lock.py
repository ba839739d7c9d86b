"""One ingestion service per data directory. A second one would take the first one's running jobs for jobs
left over from a crash, and both would write the same job database and vector store at once.

The lock is an `flock` on a file in the data directory: the kernel drops it when its process ends, killed or
not. A process may hold it more than once (the CLI before the app starts, then the app itself)."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from sightline.errors import ErrorCode, SightlineError

LOCK_FILE = "ingest.lock"  # holds the pid of the process that holds the lock

_held: dict[Path, tuple[int, int]] = {}  # this process's locks: data dir → (file descriptor, holders)


def hold(data_dir: Path) -> None:
    """Lock ``data_dir`` for this process; CONFLICT while another process holds it."""
    key = data_dir.resolve()
    if key in _held:
        fd, holders = _held[key]
        _held[key] = (fd, holders + 1)
        return
    fd = os.open(key / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode("ascii", "replace").strip()
        os.close(fd)
        raise SightlineError(
            ErrorCode.CONFLICT,
            f"Another Sightline ingestion service{f' (pid {holder})' if holder else ''} is using the data "
            f"directory {key}. Stop it first, or give this one a data directory of its own (--data-dir or "
            "SIGHTLINE_DATA_DIR).",
            where="data_dir", status=409,
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    _held[key] = (fd, 1)


def release(data_dir: Path) -> None:
    """Undo one `hold`; the last one unlocks."""
    key = data_dir.resolve()
    fd, holders = _held.get(key, (-1, 0))
    if holders > 1:
        _held[key] = (fd, holders - 1)
    elif holders == 1:
        del _held[key]
        os.close(fd)


def check_free(data_dir: Path) -> None:
    """CONFLICT if another process holds ``data_dir`` now (`sightline up` asks before it starts anything)."""
    hold(data_dir)
    release(data_dir)
