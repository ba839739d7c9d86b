"""`sightline up`'s watch over its children: one that exits is started again, with a limit."""

from __future__ import annotations

import io
import os
import sys
import threading
from pathlib import Path

from rich.console import Console

from sightline.cli import supervisor
from sightline.cli.supervisor import STARTED, Child, StopRequest, stop_all, watch
from tests.helpers import free_port, wait_until

# Exits with status 3 the first `times` runs (counted in a file), then stays up.
FLAKY = """
import sys, time
from pathlib import Path
runs = Path(sys.argv[1])
count = int(runs.read_text()) + 1 if runs.exists() else 1
runs.write_text(str(count))
if count <= int(sys.argv[2]):
    print("Traceback: the model crashed", flush=True)
    sys.exit(3)
time.sleep(60)
"""


def flaky_child(tmp_path: Path, times: int) -> Child:
    command = [sys.executable, "-c", FLAKY, str(tmp_path / "runs"), str(times)]
    return Child("ML service", command, f"http://127.0.0.1:{free_port()}/health", tmp_path / "ml.log")


def starts(child: Child) -> int:
    return child.log_path.read_text().count(STARTED) if child.log_path.exists() else 0


def watched(child: Child, stop: StopRequest) -> tuple[threading.Thread, dict, io.StringIO]:
    out, result = io.StringIO(), {}
    console = Console(file=out, width=250)

    def run() -> None:
        result["code"] = watch([child], stop, console, dict(os.environ))

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result, out


def test_a_child_that_exits_is_started_again_and_watched_on(tmp_path, monkeypatch):
    monkeypatch.setattr(supervisor, "RESTART_DELAYS", (0.0, 0.0))
    child, stop = flaky_child(tmp_path, times=1), StopRequest()
    child.start(dict(os.environ))
    thread, result, out = watched(child, stop)
    try:
        wait_until(lambda: starts(child) == 2 and (tmp_path / "runs").read_text() == "2", what="a second start")
        assert child.exit_code() is None  # the second run stays up
    finally:
        stop.request()
        thread.join(10)
        stop_all([child])
    assert result == {"code": 0}
    assert "The ML service exited (status 3); starting it again in 0 s" in out.getvalue()
    assert f"ML service started again: pid {child.pid()}" in out.getvalue()


def test_up_gives_up_when_restarts_are_used_up(tmp_path, monkeypatch):
    monkeypatch.setattr(supervisor, "RESTART_DELAYS", (0.0, 0.0))
    child, stop = flaky_child(tmp_path, times=99), StopRequest()
    child.start(dict(os.environ))
    thread, result, out = watched(child, stop)
    thread.join(30)
    stop_all([child])
    assert result == {"code": 1}
    assert starts(child) == 3  # the first start and two restarts
    assert "exited (status 3) again after 2 restarts; giving up" in out.getvalue()
    assert "Traceback: the model crashed" in out.getvalue()  # its last words, shown once


def test_a_child_s_tail_leaves_its_access_log_out(tmp_path):
    log = tmp_path / "ingest.log"
    log.write_text(f"{STARTED}2026-11-27 ---\n"
                   'INFO:     127.0.0.1:5123 - "GET /health HTTP/1.1" 200 OK\n'
                   'INFO:     127.0.0.1:5124 - "POST /api/v1/search HTTP/1.1" 200 OK\n'
                   "ERROR:    Exception in ASGI application\n")
    child = Child("ingestion service", ["true"], "", log)
    assert child.tail() == ["ERROR:    Exception in ASGI application\n"]
