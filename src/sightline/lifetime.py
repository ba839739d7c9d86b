"""A child process that must not outlive its parent."""

from __future__ import annotations

import signal


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """Linux: this process gets `sig` when the thread that started it ends (its whole process killed too); best
    effort elsewhere. Safe as a `preexec_fn` (no lock taken) and as a child's first call."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, sig)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - best effort only
        pass
