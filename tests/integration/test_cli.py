"""The `sightline` command against real services on 127.0.0.1 (tiny models), and `sightline up` for real."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from sightline import cli_client
from sightline.cli import app
from sightline.config import IngestSettings
from tests.samples import distinct_image
from tests.conftest import TEST_KEYS, RunningServer, start_server

ENV = {"COLUMNS": "250", "SIGHTLINE_URL": None, "SIGHTLINE_ADMIN_TOKEN": None}


@dataclass
class Service:
    url: str
    library: Path
    clean: Path  # 4 good images
    mixed: Path  # 3 good images and a corrupt one


@pytest.fixture(scope="module")
def service(ml_server, tmp_path_factory) -> Iterator[Service]:
    from sightline.ingest.app import create_app

    library = tmp_path_factory.mktemp("cli-library")
    clean, mixed = library / "clean", library / "mixed"
    for folder, indexes in ((clean, range(4)), (mixed, range(10, 13))):
        folder.mkdir()
        for i in indexes:
            (folder / f"img{i}.jpg").write_bytes(distinct_image(i))
    (mixed / "broken.jpg").write_bytes(b"this is not a picture\n" * 30)
    settings = IngestSettings(ml_url=ml_server.url, api_key=TEST_KEYS[0], data_dir=tmp_path_factory.mktemp("cli-data"),
                              ingest_roots=str(library), ml_retries=2, ml_backoff=0.1)
    running: RunningServer = start_server(create_app(settings), health_path="/health")
    yield Service(running.url, library, clean, mixed)
    running.stop()


def sightline(*args: str, url: str | None = None, input: str | None = None):
    argv = [*args, "--url", url] if url else list(args)
    return CliRunner().invoke(app, argv, env=ENV, input=input)


def api(service: Service, method: str, path: str, **kwargs) -> httpx.Response:
    return httpx.request(method, service.url + path, timeout=30, **kwargs)


def test_collections_create_list_info_delete(service):
    created = sightline("collections", "create", "albums", "--distance", "dot", "--hnsw-m", "8",
                        "--ef-construct", "64", "--quantization", "int8", url=service.url)
    assert created.exit_code == 0, created.output
    assert "Created collection albums" in created.output
    info = api(service, "GET", "/api/v1/collections/albums").json()
    expected = {"distance": "Dot", "hnsw_m": 8, "hnsw_ef_construct": 64, "quantization": "int8"}
    assert info["params"].items() >= expected.items()

    listed = sightline("collections", "list", url=service.url)
    assert listed.exit_code == 0 and re.search(r"albums\s.*\s0\s", listed.output), listed.output
    as_json = sightline("collections", "list", "--json", url=service.url)
    assert "albums" in [c["name"] for c in json.loads(as_json.stdout)["collections"]]

    shown = sightline("collections", "info", "albums", url=service.url)
    assert shown.exit_code == 0 and "Dot" in shown.output and "int8" in shown.output

    refused = sightline("collections", "delete", "albums", url=service.url, input="n\n")
    assert refused.exit_code == 1 and "Delete collection albums and its 0 points?" in refused.output
    assert api(service, "GET", "/api/v1/collections/albums").status_code == 200
    deleted = sightline("collections", "delete", "albums", "--yes", url=service.url)
    assert deleted.exit_code == 0 and "Deleted collection albums" in deleted.output
    assert api(service, "GET", "/api/v1/collections/albums").status_code == 404


def test_ingest_creates_the_collection_and_follows_to_completion(service):
    result = sightline("ingest", str(service.clean), "-c", "clean", "--create", "--no-caption", url=service.url)
    assert result.exit_code == 0, result.output
    assert "Created collection clean" in result.output
    assert re.search(r"completed in [\d.]+ s: 4 files — 4 ingested, 0 reused .*, 0 unchanged, 0 failed",
                     result.output), result.output
    assert api(service, "GET", "/api/v1/collections/clean").json()["points_count"] == 4

    again = sightline("ingest", str(service.clean), "-c", "clean", url=service.url)  # exists: no --create
    assert again.exit_code == 0 and "4 unchanged" in again.output, again.output


def test_ingest_with_a_corrupt_file_exits_1_with_the_errors_table(service):
    result = sightline("ingest", str(service.mixed), "-c", "mixed", "--create", url=service.url)
    assert result.exit_code == 1, result.output
    assert "completed_with_errors" in result.output
    assert "4 files — 3 ingested" in result.output and "1 failed" in result.output
    job_id = re.search(r"Job ([0-9a-f]{32})", result.output).group(1)
    [error] = api(service, "GET", f"/api/v1/jobs/{job_id}/errors").json()["errors"]
    table_row = next(line for line in result.output.splitlines() if "broken.jpg" in line)
    assert str(service.mixed / "broken.jpg") in table_row and error["code"] in table_row
    assert error["message"] in table_row


def test_no_follow_prints_the_job_and_returns(service):
    result = sightline("ingest", str(service.clean), "-c", "nofollow", "--create", "--no-follow", url=service.url)
    assert result.exit_code == 0 and "sightline jobs show" in result.output, result.output
    job_id = re.search(r"Job ([0-9a-f]{32})", result.output).group(1)
    shown = sightline("jobs", "show", job_id, "--follow", url=service.url)
    assert shown.exit_code == 0 and "completed" in shown.output, shown.output


def test_ctrl_c_while_following_only_stops_following(service, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_client, "follow_job", interrupted)
    result = sightline("ingest", str(service.clean), "-c", "interrupted", "--create", url=service.url)
    assert result.exit_code == 130
    job_id = re.search(r"Job ([0-9a-f]{32})", result.output).group(1)
    assert f"sightline jobs cancel {job_id}" in result.output
    assert api(service, "GET", f"/api/v1/jobs/{job_id}").status_code == 200  # nothing was cancelled


def test_search_prints_a_table_and_json(service):
    assert sightline("ingest", str(service.clean), "-c", "searchable", "--create", url=service.url).exit_code == 0
    table = sightline("search", "a photo", "-c", "searchable", "--limit", "3", url=service.url)
    assert table.exit_code == 0, table.output
    assert table.output.count(str(service.clean)) == 3
    assert "score" in table.output and "caption" in table.output

    as_json = sightline("search", "a photo", "-c", "searchable", "--json", url=service.url)
    results = json.loads(as_json.stdout)["results"]
    assert len(results) == 4 and all(r["payload"]["path"].startswith(str(service.clean)) for r in results)

    by_image = sightline("search", "-c", "searchable", "--image", str(service.clean / "img2.jpg"), "--json",
                         url=service.url)
    assert by_image.exit_code == 0, by_image.output
    assert json.loads(by_image.stdout)["results"][0]["payload"]["path"] == str(service.clean / "img2.jpg")

    neither = sightline("search", "-c", "searchable", url=service.url)
    assert neither.exit_code == 2 and "TEXT query or --image" in neither.output


def test_jobs_list_show_errors_logs_retry(service):
    result = sightline("ingest", str(service.mixed), "-c", "jobs-mixed", "--create", url=service.url)
    job_id = re.search(r"Job ([0-9a-f]{32})", result.output).group(1)

    listed = sightline("jobs", "list", "-c", "jobs-mixed", url=service.url)
    assert listed.exit_code == 0 and job_id in listed.output and "completed_with_errors" in listed.output
    assert "4/4" in listed.output

    shown = sightline("jobs", "show", job_id, url=service.url)
    assert shown.exit_code == 0
    assert re.search(r"done\s*│\s*3\s", shown.output) and re.search(r"failed\s*│\s*1\s", shown.output), shown.output

    errors = sightline("jobs", "errors", job_id, url=service.url)
    assert errors.exit_code == 0 and "broken.jpg" in errors.output
    assert len(json.loads(sightline("jobs", "errors", job_id, "--json", url=service.url).stdout)["errors"]) == 1

    logs = sightline("jobs", "logs", job_id, url=service.url)
    assert logs.exit_code == 0 and "finished" in logs.output

    retried = sightline("jobs", "retry", job_id, "--follow", url=service.url)
    assert "1 failed files queued again" in retried.output
    assert retried.exit_code == 1 and "broken.jpg" in retried.output  # still corrupt

    finished = sightline("jobs", "cancel", job_id, url=service.url)
    assert finished.exit_code == 2 and "CONFLICT: The job is already completed_with_errors." in finished.output


def test_a_wrong_url_gives_the_friendly_message(service):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"  # bound, not listening: refused
        result = sightline("collections", "list", url=url)
    assert result.exit_code == 2
    assert f"the ingestion service is not running at {url} — start it with `sightline up`" in result.output
    assert "Traceback" not in result.output


def test_api_errors_print_code_and_message(service):
    missing = sightline("collections", "info", "no-such", url=service.url)
    assert missing.exit_code == 2
    assert missing.stderr.strip() == "NOT_FOUND: collection 'no-such' does not exist"

    outside = sightline("ingest", "/etc", "-c", "clean", url=service.url)
    assert outside.exit_code == 2 and outside.stderr.startswith("FORBIDDEN: /etc is outside the ingest roots")

    unknown = sightline("ingest", str(service.clean), "-c", "never-made", url=service.url)
    assert unknown.exit_code == 2 and "add --create" in unknown.stderr

    bad_size = sightline("collections", "create", "wrong-size", "--vector-size", "3", url=service.url)
    assert bad_size.exit_code == 2 and bad_size.stderr.startswith("MODEL_MISMATCH: vector_size 3")
    assert "Traceback" not in missing.output + outside.output + unknown.output + bad_size.output


def test_the_admin_token_is_sent_as_a_bearer(ml_server, tmp_path):
    from sightline.ingest.app import create_app

    settings = IngestSettings(ml_url=ml_server.url, api_key=TEST_KEYS[0], data_dir=tmp_path, admin_token="s3cret")
    running = start_server(create_app(settings), health_path="/health")
    try:
        refused = sightline("jobs", "list", url=running.url)
        assert refused.exit_code == 2 and refused.stderr.startswith("UNAUTHORIZED: Admin token required")
        allowed = sightline("jobs", "list", "--token", "s3cret", url=running.url)
        assert allowed.exit_code == 0 and "No jobs." in allowed.output
    finally:
        running.stop()


# --- `sightline up`, for real ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(url: str, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"sightline up exited early:\n{log.read_text()}"
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} never became healthy:\n{log.read_text()}")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_up_refuses_an_open_bind_without_admin_token_and_a_busy_port(tmp_path):
    exposed = sightline("up", "--host", "0.0.0.0", "--data-dir", str(tmp_path / "a"))
    assert exposed.exit_code == 2 and "Refusing to bind 0.0.0.0: SIGHTLINE_ADMIN_TOKEN" in exposed.output
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        result = sightline("up", "--ml-port", str(taken), "--port", str(free_port()), "--data-dir", str(tmp_path / "b"))
    assert result.exit_code == 2 and f"port {taken} on 127.0.0.1 is in use" in result.output
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()  # nothing started, nothing written


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
        wait_healthy(f"http://127.0.0.1:{ml_port}/health", process, log)
        wait_healthy(f"http://127.0.0.1:{port}/health", process, log)
        key_file = data / "api_key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        key = key_file.read_text().strip()
        printed = log.read_text()
        assert key not in printed and key not in " ".join(command)
        assert f"Ingest roots (--roots): {roots}" in printed

        ml = f"http://127.0.0.1:{ml_port}/api/v1/capabilities"
        assert httpx.get(ml).status_code == 401
        assert httpx.get(ml, headers={"x-api-key": key}).status_code == 200
        created = httpx.post(f"http://127.0.0.1:{port}/api/v1/collections", json={"name": "up-check"}, timeout=30)
        assert created.status_code == 201, created.text  # the ingestion service reached the ML one with the key

        deadline = time.monotonic() + 10
        while not (found := re.search(r"processes\s+ml (\d+), ingest (\d+)", log.read_text())):
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        pids = [int(found.group(1)), int(found.group(2))]
        assert all(alive(pid) for pid in pids)

        started = time.monotonic()
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0, log.read_text()
        assert time.monotonic() - started < 20
        assert not any(alive(pid) for pid in pids), log.read_text()
        assert "Stopped." in log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for pid in pids:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
