"""Background review work (near-duplicate scans, maps, merges and copies) with visible progress: one task per
(kind, collection) at a time, run on the review tools' own worker threads so they never hold the threads searches
use. Two lanes, one thread each: computing (scans, maps) and copying (merges, copies), so a merge does not wait
behind a map of 50,000 points. A copy is one per target (the collection it fills), and can be cancelled: its
next step of progress then stops it. At shutdown every running task is stopped so, before the stores close
(`shutdown`); a copy or a merge stopped so is resumed at the next start (`selection.start_review`), its stages
saying so (`RESUMED`)."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

from sightline.errors import ErrorCode, SightlineError

logger = logging.getLogger(__name__)

TaskState = Literal["running", "completed", "failed"]
KEEP_FINISHED = 100  # finished tasks remembered (their progress stays readable for a while)
COPYING = frozenset({"merge", "copy"})  # the kinds run on the copying lane; the others compute
SHUTDOWN_WAIT_S = 10.0  # how long a shutdown waits for the running tasks to stop (a copy stops within a page)
RESUMED = "(resumed after a restart)"  # after the stage of a task a stop interrupted


class Progress:
    """What a task's work reports: `total` once known, then `advance(n)` as it goes."""

    def __init__(self, task: Task):
        self._task = task

    def start(self, total: int, stage: str) -> None:
        self._task.total, self._task.done = total, 0
        self._task.stage = f"{stage} {RESUMED}" if self._task.resumed else stage
        self._stop_if_cancelled()

    def advance(self, done: int) -> None:
        self._task.done = min(self._task.total, self._task.done + done)
        self._stop_if_cancelled()

    def _stop_if_cancelled(self) -> None:
        if self._task.cancelled:
            raise SightlineError(ErrorCode.CANCELLED, f"Stopped after {self._task.done} of {self._task.total}.",
                                 status=409)


@dataclass
class Task:
    task_id: str
    kind: str
    collection: str
    target: str | None = None  # the collection a merge or copy writes into
    state: TaskState = "running"
    stage: str = "starting"
    done: int = 0
    total: int = 0
    error: dict | None = None
    started_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    result: Any = None
    cancelled: bool = False
    resumed: bool = False  # started again after a stop interrupted it

    @property
    def key(self) -> tuple[str, str]:
        """One running task per key: a copy per collection it fills, any other per collection it reads."""
        scope = (self.target or self.collection) if self.kind == "copy" else self.collection
        return self.kind, scope

    def to_dict(self) -> dict:
        percent = 100 if self.state == "completed" else (self.done * 100 // self.total if self.total else None)
        return {"task_id": self.task_id, "kind": self.kind, "collection": self.collection, "target": self.target,
                "state": self.state, "stage": self.stage, "done": self.done, "total": self.total, "percent": percent,
                "result": self.result if self.state == "completed" else None, "error": self.error,
                "started_at": self.started_at, "finished_at": self.finished_at}


class ReviewTasks:
    def __init__(self) -> None:
        self._tasks: dict[str, Task] = {}
        self._running: dict[tuple[str, str], Task] = {}
        self._futures: dict[str, asyncio.Future] = {}
        self._lanes = {lane: ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"sightline-review-{lane}")
                       for lane in ("compute", "copy")}
        self.stopping = False  # set by `shutdown`: a task failing now failed because the service stops

    def get(self, task_id: str) -> Task | None:
        return self._tasks.get(task_id)

    def running(self, kind: str, collection: str) -> Task | None:
        """The task of this kind running for `collection` (for a copy: the collection it fills)."""
        return self._running.get((kind, collection))

    def writing_into(self, target: str) -> list[Task]:
        """The running merges and copies that write into `target`."""
        return [task for task in self._running.values() if task.target == target]

    def start(self, kind: str, collection: str, work: Callable[[Progress], Any], target: str | None = None,
              task_id: str | None = None, resumed: bool = False) -> Task:
        """Run `work(progress)` on its lane's thread, unless a task of this kind already runs for the
        collection (a copy: for its target; then that one is returned). `work`'s answer is the task's `result`
        (JSON-able). `task_id`: one recorded before it starts (`pending.py`); `resumed`: it is started again after
        a stop interrupted it, under the id its client follows."""
        task = Task(task_id or uuid.uuid4().hex, kind, collection, target, resumed=resumed)
        if (running := self._running.get(task.key)) is not None:
            return running
        self._tasks[task.task_id] = task
        self._running[task.key] = task
        self._forget_old()
        lane = self._lanes["copy" if kind in COPYING else "compute"]
        future = asyncio.get_running_loop().run_in_executor(lane, self._run, task, work)
        self._futures[task.task_id] = future
        future.add_done_callback(lambda _: self._futures.pop(task.task_id, None))
        return task

    async def settled(self, task: Task, timeout: float | None = None) -> Task:
        """The task once it has ended, or as it stands after `timeout` seconds."""
        future = self._futures.get(task.task_id)
        if future is not None:
            await asyncio.wait([future], timeout=timeout)
        return task

    async def cancel(self, task: Task) -> Task:
        """Stop a running task at its next step of progress, and wait for it to end."""
        task.cancelled = True
        return await self.settled(task)

    async def shutdown(self, timeout: float = SHUTDOWN_WAIT_S) -> None:
        """Stop every running task at its next step of progress, wait for them (at most `timeout` seconds), and
        start no queued one."""
        self.stopping = True
        for task in self._running.values():
            task.cancelled = True
        if self._futures:
            await asyncio.wait(list(self._futures.values()), timeout=timeout)
        for lane in self._lanes.values():
            lane.shutdown(wait=False, cancel_futures=True)

    async def join(self) -> None:
        """Wait for every task started so far (tests, shutdown)."""
        while self._futures:
            await asyncio.gather(*list(self._futures.values()), return_exceptions=True)

    def _run(self, task: Task, work: Callable[[Progress], Any]) -> None:
        try:
            task.result = work(Progress(task))
            task.state = "completed"
        except SightlineError as exc:
            task.error = {"code": str(exc.code), "message": exc.message, "where": exc.where}
            task.state = "failed"
        except Exception as exc:  # noqa: BLE001 - a failed task is reported, never raised into the server
            logger.exception("review task %s (%s of %s) failed", task.task_id, task.kind, task.collection)
            task.error, task.state = {"code": "INTERNAL_ERROR", "message": str(exc) or type(exc).__name__}, "failed"
        finally:
            task.finished_at = time.time()
            self._running.pop(task.key, None)

    def _forget_old(self) -> None:
        finished = [t for t in self._tasks.values() if t.state != "running"]
        for task in sorted(finished, key=lambda t: t.started_at)[:-KEEP_FINISHED or None]:
            self._tasks.pop(task.task_id, None)
