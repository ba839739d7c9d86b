"""The child processes of `sightline up`: start them, wait until both are healthy, watch them, stop them."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import httpx
from rich.console import Console
from rich.markup import escape

from sightline.lifetime import die_with_parent

__all__ = ["Child", "StopRequest", "stop_all", "wait_ready", "watch"]

STOP_TIMEOUT = 10.0
STOP_POLL_SECONDS = 0.1
LOG_TAIL_LINES = 25
RESTART_DELAYS = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0)  # before each restart in a row; then `up` gives up
RESTART_RESET_S = 300.0  # a child up this long has its restarts counted from 0 again
LOG_ROTATE_BYTES = 10 * 1024 * 1024
STARTED = "--- started "  # the line each start appends to a child's log
_ACCESS_LINE = re.compile(r' - "[A-Z]+ \S* HTTP/[\d.]+" \d{3}')  # uvicorn's: 127.0.0.1:5 - "GET / HTTP/1.1" 200 OK


class StopRequest:
    """Ctrl-C / SIGTERM, as a plain flag that the loops below poll.

    A signal handler runs in the main thread between two bytecodes, maybe while that thread holds a lock, so
    it must take none: `threading.Event.set()` takes the lock that `Event.wait()` holds around its wait, and
    deadlocked `sightline up` on a Ctrl-C that landed there."""

    def __init__(self) -> None:
        self.requested = False

    def request(self, *_: object) -> None:
        """The signal handler."""
        self.requested = True

    def wait(self, seconds: float) -> bool:
        """Sleep `seconds`, less once a stop is requested (seen within STOP_POLL_SECONDS); whether one is."""
        deadline = time.monotonic() + seconds
        while not self.requested and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, STOP_POLL_SECONDS))
        return self.requested


@dataclass
class Child:
    name: str
    command: list[str]
    health_url: str
    log_path: Path
    process: subprocess.Popen | None = None
    loads_models: bool = False  # answers 503 on /health while loading
    ready: bool = False
    log_file: BinaryIO | None = field(default=None, repr=False)

    def start(self, env: dict[str, str]) -> None:
        self.log_file = _open_log(self.log_path)
        self.process = subprocess.Popen(
            self.command, env=env, stdin=subprocess.DEVNULL, stdout=self.log_file, stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches only the supervisor, which stops the children in order
            preexec_fn=die_with_parent if sys.platform.startswith("linux") else None,  # SIGTERM
        )

    def exit_code(self) -> int | None:
        return self.process.poll() if self.process else None

    def pid(self) -> str:
        return str(self.process.pid) if self.process else "-"

    def tail(self, lines: int = LOG_TAIL_LINES) -> list[str]:
        """The last lines of its log since its last start, less its access log (the supervisor's /health polls
        among them): what it said itself."""
        tail: deque[str] = deque(maxlen=lines)
        try:
            with self.log_path.open("r", errors="replace") as handle:
                for line in handle:
                    if line.startswith(STARTED):
                        tail.clear()  # an earlier run's lines
                    elif not _ACCESS_LINE.search(line):
                        tail.append(line)
        except OSError:
            return []
        return list(tail)

    def print_tail(self, out: Console) -> None:
        lines = self.tail()
        out.print(f"Last lines of {self.log_path}:" if lines else f"(nothing in {self.log_path} since this start)")
        for line in lines:
            out.print(f"  {escape(line.rstrip())}")


def _open_log(path: Path) -> BinaryIO:
    """The log opened to append (what happened before a restart stays) after a dated "--- started" line; a
    log over LOG_ROTATE_BYTES is first moved to `NAME.1` (replacing the one there)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_file() and path.stat().st_size > LOG_ROTATE_BYTES:
        path.replace(path.with_name(f"{path.name}.1"))
    log = path.open("ab")
    log.write(f"{STARTED}{datetime.now().astimezone():%Y-%m-%d %H:%M:%S %z} ---\n".encode())
    log.flush()
    return log


def wait_ready(children: list[Child], stop: StopRequest, out: Console, models: str, timeout: float) -> int:
    """Wait until every child answers /health (the ML one says 503 while its models load); 0 when ready
    (or stopped), 1 when one died, failed to load its models or was not ready in `timeout` seconds."""
    deadline = time.monotonic() + timeout
    with out.status(f"Starting; loading models ({models})…") as spinner, httpx.Client(timeout=2) as http:
        while not all(child.ready for child in children):
            if stop.wait(0.3):
                return 0
            if (failed := _dead(children, out)) is not None:
                return failed
            for child in (child for child in children if not child.ready):
                health = _check_health(child, http, out)
                if health == "failed":
                    return 1
                if health == "loading":
                    spinner.update(f"Loading models ({models})…")
            if time.monotonic() > deadline:
                out.print(f"[red]The services did not become ready within {timeout:.0f} s.[/red]")
                for child in children:
                    if not child.ready:
                        child.print_tail(out)
                return 1
    return 0


def _check_health(child: Child, http: httpx.Client, out: Console) -> str:
    """"ready" (and marks it so), "loading" (its models), "failed" (to load them), or "waiting"."""
    try:
        answer = http.get(child.health_url)
    except httpx.HTTPError:
        return "waiting"
    if answer.status_code == 200:
        child.ready = True
        out.print(f"[green]✓[/green] {child.name} is ready")
        return "ready"
    if not (child.loads_models and answer.status_code == 503):
        return "waiting"
    body = _json(answer)
    if body.get("status") != "error":
        return "loading"
    out.print(f"[red]The ML service could not load its models: {escape(str(body.get('error')))}[/red]")
    child.print_tail(out)
    return "failed"


def watch(children: list[Child], stop: StopRequest, out: Console, env: dict[str, str]) -> int:
    """Until a stop is requested (0). A child that exits is started again after a delay that grows with each
    restart in a row (`RESTART_DELAYS`; one that stayed up `RESTART_RESET_S` starts the count again), so a
    crashed ML service comes back while the UI stays up and jobs wait for it; 1 once restarts are used up."""
    restarts = {child.name: Restarts() for child in children}
    with httpx.Client(timeout=2) as http:
        while not stop.wait(0.5):
            for child in children:
                code = child.exit_code()
                if code is not None and not _restart(child, code, restarts[child.name], stop, out, env):
                    return 1
                if code is None and not child.ready and _check_health(child, http, out) == "failed":
                    child.ready = True  # said once; its /health goes on saying so
    return 0


@dataclass
class Restarts:
    """A child's restarts in a row, and when it last started."""

    count: int = 0
    started_at: float = field(default_factory=time.monotonic)


def _restart(child: Child, code: int, restarts: Restarts, stop: StopRequest, out: Console,
             env: dict[str, str]) -> bool:
    """Start an exited child again after its delay; False when its restarts are used up (or a stop came)."""
    if time.monotonic() - restarts.started_at >= RESTART_RESET_S:
        restarts.count = 0
    if restarts.count >= len(RESTART_DELAYS):
        out.print(f"[red]The {child.name} exited (status {code}) again after {restarts.count} restarts; "
                  "giving up.[/red]")
        child.print_tail(out)
        return False
    delay = RESTART_DELAYS[restarts.count]
    out.print(f"[yellow]The {child.name} exited (status {code}); starting it again in {delay:g} s "
              f"(log: {child.log_path}).[/yellow]")
    if stop.wait(delay):
        return True  # the loop sees the stop
    if child.log_file:
        child.log_file.close()
    child.ready = False
    child.start(env)
    out.print(f"  {child.name} started again: pid {child.pid()}")  # the ready banner's pids are the first ones
    restarts.count += 1
    restarts.started_at = time.monotonic()
    return True


def _dead(children: list[Child], out: Console) -> int | None:
    """1 when a child exited (said, with its last words), else None."""
    for child in children:
        code = child.exit_code()
        if code is not None:
            out.print(f"[red]The {child.name} exited (status {code}).[/red]")
            child.print_tail(out)
            return 1
    return None


def stop_all(children: list[Child], timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM every child (uvicorn shuts down gracefully), wait, then SIGKILL what is left."""
    running = [child.process for child in children if child.process and child.process.poll() is None]
    for process in running:
        try:
            process.terminate()
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    for process in running:
        try:
            process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for child in children:
        if child.log_file:
            child.log_file.close()


def _json(response: httpx.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
