"""Free space on the data folder's disk: checked before every write, so a full disk is an error, not a crash.

The embedded vector store writes through memory maps; a mapped write on a full disk is a SIGBUS that Python
cannot catch. So writers ask first and answer `DISK_FULL` (HTTP 507, per file in jobs) while there is still
room to stay consistent.
"""

from __future__ import annotations

import os
from pathlib import Path

from sightline.errors import ErrorCode, SightlineError

DEFAULT_RESERVE_BYTES = 64 * 1024 * 1024


def free_bytes(path: Path) -> int:
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


def check_free(path: Path, need_bytes: int = 0, *, reserve_bytes: int = DEFAULT_RESERVE_BYTES) -> None:
    """Raise `DISK_FULL` unless `need_bytes` fit on `path`'s disk with `reserve_bytes` to spare."""
    free = free_bytes(path)
    if free < need_bytes + reserve_bytes:
        raise SightlineError(
            ErrorCode.DISK_FULL,
            f"Only {free // (1024 * 1024)} MiB free on the disk of {path}; "
            f"{(need_bytes + reserve_bytes) // (1024 * 1024)} MiB are needed. Free some space: "
            "waiting jobs go on by themselves.",
            where=str(path),
            status=507,
        )
