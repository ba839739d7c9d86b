"""`sightline up`: what it refuses before starting anything, and (end-to-end) both services for real."""

from __future__ import annotations

import io
import os
import re
import signal
import socket
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from rich.console import Console
from typer.testing import CliRunner

from sightline.cli import app, supervisor
from sightline.cli.launcher import _print_ready
from sightline.cli.supervisor import Child, stop_all
from tests.helpers import free_port, wait_until
from tests.ingest.test_data_lock import HOLD_UNTIL_KILLED

ENV = {"COLUMNS": "250", "SIGHTLINE_URL": None, "SIGHTLINE_ADMIN_TOKEN": None}


def up(*args: str):
    return CliRunner().invoke(app, ["up", *args], env=ENV)


def test_an_open_bind_without_admin_token_is_refused(tmp_path):
    exposed = up("--host", "0.0.0.0", "--data-dir", str(tmp_path / "data"))
    assert exposed.exit_code == 2
    assert "Refusing to bind 0.0.0.0: SIGHTLINE_ADMIN_TOKEN is not configured." in exposed.output


def test_a_refused_start_writes_nothing(tmp_path):
    up("--host", "0.0.0.0", "--data-dir", str(tmp_path / "data"))
    assert not (tmp_path / "data").exists()


def test_unknown_models_are_a_usage_error(tmp_path):
    assert up("--models", "huge", "--data-dir", str(tmp_path / "data")).exit_code == 2


@pytest.mark.e2e
def test_a_busy_port_is_refused_before_anything_starts(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        result = up("--ml-port", str(taken), "--port", str(free_port()), "--data-dir", str(tmp_path / "data"))
    assert result.exit_code == 2
    assert f"port {taken} on 127.0.0.1 is in use (is Sightline already running?); pick another with --ml-port " \
        "(a second Sightline also needs its own --data-dir)" in result.output
    assert not (tmp_path / "data").exists()


def test_a_data_dir_another_sightline_uses_is_refused_before_anything_starts(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", HOLD_UNTIL_KILLED, str(data)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        result = up("--ml-port", str(free_port()), "--port", str(free_port()), "--data-dir", str(data))
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == 2
    assert f"Another Sightline ingestion service (pid {holder.pid}) is using the data directory {data}." \
        in result.output
    assert not (data / "logs").exists()


STOP_CYCLES = 20
# `_run` with two `sleep` children (healthy at once) started and stopped STOP_CYCLES times. Python runs a signal
# handler in the main thread between two bytecodes, so a handler that takes a lock deadlocks when it lands
# where the main thread holds that lock. A timer thread almost never hits such a window (microseconds), so the
# SIGINT is sent from a profile hook, at a random one of the main thread's calls after a random delay: any
# moment of starting, waiting, watching or stopping, including inside `threading`'s own lock handling.
STOP_CYCLES_SCRIPT = """
import os, random, signal, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from rich.console import Console
from sightline.cli.launcher import _run
from sightline.cli.supervisor import Child

class Healthy(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass

class Interrupter:
    def __init__(self):
        self.first = None
        self.next_after()

    def next_after(self):
        self.after, self.skip = time.monotonic() + random.uniform(0, 0.5), random.randrange(15)

    def __call__(self, frame, event, arg):
        if time.monotonic() < self.after:
            return
        if self.skip:
            self.skip -= 1
            return
        os.kill(os.getpid(), signal.SIGINT)
        self.first = self.first or time.monotonic()
        self.next_after()

server = ThreadingHTTPServer(("127.0.0.1", 0), Healthy)
threading.Thread(target=server.serve_forever, daemon=True).start()
health = f"http://127.0.0.1:{server.server_port}/health"
logs, cycles = Path(sys.argv[1]), int(sys.argv[2])
out = Console(file=open(os.devnull, "w"))
signal.signal(signal.SIGINT, signal.SIG_IGN)  # outside _run (its handler restored after it)
slowest = 0.0
for cycle in range(cycles):
    children = [Child(name, ["sleep", "60"], health, logs / f"{name}.log") for name in ("ml", "ingest")]
    interrupter = Interrupter()
    sys.setprofile(interrupter)
    code = _run(children, dict(os.environ), out, "tiny", 60, ready=lambda: None)
    sys.setprofile(None)
    assert code == 0 and all(child.exit_code() is not None for child in children), cycle
    slowest = max(slowest, time.monotonic() - interrupter.first)
print(f"stopped {cycles} times, slowest {slowest:.1f} s")
"""


@pytest.mark.e2e
def test_ctrl_c_at_any_moment_stops_the_children(tmp_path):
    command = [sys.executable, "-c", STOP_CYCLES_SCRIPT, str(tmp_path), str(STOP_CYCLES)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = process.communicate(timeout=STOP_CYCLES * 4)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        pytest.fail(f"a stop hung:\n{output}")
    assert process.returncode == 0, output
    found = re.fullmatch(rf"stopped {STOP_CYCLES} times, slowest (\S+) s\n", output)
    assert found and float(found.group(1)) < 3, output


def banner(host: str, port: int) -> str:
    out = Console(file=io.StringIO(), width=250)
    children = [Child(name, ["true"], "", Path(f"/logs/{name}.log")) for name in ("ml", "ingest")]
    _print_ready(out, host, port, 8001, "lite", Path("/data"), children)
    return out.file.getvalue()


def test_the_ready_banner_says_how_to_point_the_cli_at_another_port():
    assert "  CLI          export SIGHTLINE_URL=http://127.0.0.1:18412  (the CLI's default is " \
        "http://127.0.0.1:8002)\n" in banner("127.0.0.1", 18412)


def test_the_ready_banner_says_nothing_of_the_cli_on_its_default_address():
    assert "SIGHTLINE_URL" not in banner("0.0.0.0", 8002)


def started(child: Child) -> Child:
    child.start(dict(os.environ))
    assert child.process.wait(timeout=30) == 0
    stop_all([child])
    return child


def test_each_start_appends_to_the_log_after_a_dated_line(tmp_path):
    child = Child("ml", [sys.executable, "-c", "print('first run')"], "", tmp_path / "ml.log")
    started(child)
    child.command = [sys.executable, "-c", "print('second run')"]
    started(child)
    assert re.fullmatch(r"(--- started \d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4} ---\n(first|second) run\n){2}",
                        child.log_path.read_text())
    assert child.log_path.read_text().index("first run") < child.log_path.read_text().index("second run")
    assert child.tail() == ["second run\n"]  # what a failure shows: this start's lines only


def test_a_log_over_the_limit_moves_to_dot_1(tmp_path, monkeypatch):
    monkeypatch.setattr(supervisor, "LOG_ROTATE_BYTES", 100)
    log = tmp_path / "ingest.log"
    log.write_text("old line\n" * 20)
    started(Child("ingest", [sys.executable, "-c", "print('new run')"], "", log))
    assert (tmp_path / "ingest.log.1").read_text() == "old line\n" * 20
    assert log.read_text().startswith("--- started ") and log.read_text().endswith("---\nnew run\n")


def healthy(url: str, process: subprocess.Popen, log: Path) -> bool:
    assert process.poll() is None, f"sightline up exited early:\n{log.read_text()}"
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.e2e
def test_up_runs_both_services_and_stops_them_on_ctrl_c(tmp_path):
    ml_port, port = free_port(), free_port()
    data, roots, log = tmp_path / "data", tmp_path / "photos", tmp_path / "up.log"
    roots.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGHTLINE_")}
    command = [sys.executable, "-m", "sightline.cli", "up", "--models", "tiny", "--data-dir", str(data),
               "--roots", str(roots), "--ml-port", str(ml_port), "--port", str(port)]
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    pids: list[int] = []
    try:
        for url in (f"http://127.0.0.1:{ml_port}/health", f"http://127.0.0.1:{port}/health"):
            wait_until(lambda: healthy(url, process, log), timeout=60, interval=0.1, what=f"{url} healthy")
        found = wait_until(lambda: re.search(r"processes\s+ml (\d+), ingest (\d+)", log.read_text()), timeout=10,
                           what="the ready banner")
        pids = [int(found.group(1)), int(found.group(2))]
        key_file = data / "api_key"
        key = key_file.read_text().strip()
        printed = log.read_text()
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert key not in printed
        assert key not in " ".join(command)
        assert f"Ingest roots (--roots): {roots}" in printed
        assert f"export SIGHTLINE_URL=http://127.0.0.1:{port}" in printed

        capabilities = f"http://127.0.0.1:{ml_port}/api/v1/capabilities"
        assert httpx.get(capabilities).status_code == 401
        assert httpx.get(capabilities, headers={"x-api-key": key}).status_code == 200
        created = subprocess.run(  # the client command, for real: the ingestion server reaches ML with the key
            [sys.executable, "-m", "sightline.cli", "collections", "create", "up-check", "--url",
             f"http://127.0.0.1:{port}"], env={**env, "COLUMNS": "200"}, capture_output=True, text=True, timeout=60)
        assert created.stdout.startswith("Created collection up-check."), created.stdout + created.stderr
        assert [alive(pid) for pid in pids] == [True, True]

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0, log.read_text()
        assert [alive(pid) for pid in pids] == [False, False], log.read_text()
        assert log.read_text().endswith("Stopped.\n")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for pid in pids:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
