"""Store calls from the pipeline, patient with a job database that another process holds locked, and with a
full disk.

Each call runs in a worker thread. While it raises `JobStoreBusy` (another connection holds the write lock past
the store's busy timeout) or `DISK_FULL` (`ingest.disk`), it is tried again with a growing pause, for up to
`patience_s` seconds in all: a job goes on by itself when the lock is gone or space returns. Then the error
goes to the caller, which fails the files or the job with that retriable error. Nothing is dropped: a batch's
outcome is recorded, or its files stay pending.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sightline.errors import ErrorCode, SightlineError
from sightline.ingest.jobdb import JobStoreBusy

logger = logging.getLogger("sightline.pipeline")
STORE_PATIENCE_S = 300.0
FIRST_PAUSE_S, LONGEST_PAUSE_S = 0.05, 5.0

T = TypeVar("T")
Persist = Callable[..., Awaitable[Any]]  # patiently, with a patience of its own: (call, *args, **kwargs)


async def patiently(call: Callable[..., T], *args: Any, patience_s: float = STORE_PATIENCE_S, **kwargs: Any) -> T:
    deadline = time.monotonic() + patience_s
    pause = FIRST_PAUSE_S
    while True:
        try:
            return await asyncio.to_thread(call, *args, **kwargs)
        except SightlineError as exc:
            waits = isinstance(exc, JobStoreBusy) or exc.code == ErrorCode.DISK_FULL
            if not waits or time.monotonic() + pause > deadline:
                raise
            logger.warning("waiting for the store (%s: %s); trying again in %.2f s", exc.code, exc.message, pause)
            await asyncio.sleep(pause)
            pause = min(pause * 2, LONGEST_PAUSE_S)
