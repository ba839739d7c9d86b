"""`sightline up`: what it refuses before starting anything, and (end-to-end) both services for real."""

from __future__ import annotations

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
from typer.testing import CliRunner

from sightline.cli import app
from tests.helpers import free_port, wait_until

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
    assert f"port {taken} on 127.0.0.1 is in use (is Sightline already running?); pick another with --ml-port" \
        in result.output
    assert not (tmp_path / "data").exists()


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
