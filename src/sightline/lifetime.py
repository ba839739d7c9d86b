"""A child process that must not outlive its parent, and a process's children."""

from __future__ import annotations

import signal
from pathlib import Path


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """Linux: this process gets `sig` when the thread that started it ends (its whole process killed too); best
    effort elsewhere. Safe as a `preexec_fn` (no lock taken) and as a child's first call."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, sig)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - best effort only
        pass


def children(pid: int | str = "self") -> list[int]:
    """Linux: the pids of a process's children, of all its threads (none once it has ended; OSError elsewhere)."""
    return [int(child) for task in Path(f"/proc/{pid}/task").iterdir()
            for child in (task / "children").read_text().split()]
