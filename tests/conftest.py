"""Shared fixtures: the ML app (tiny models, loaded once per session), real services on 127.0.0.1 (uvicorn in a
thread, random ports) for the end-to-end tests, and the settings helpers both kinds of test use."""

from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from sightline.config import IngestSettings, MLSettings
from sightline.http import HTTP_PROTOCOL
from tests.helpers import wait_until

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # read once when torch loads: idle threads sleep
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Test folders in memory when there is room (a real filesystem, tmpfs): most tests wait on the stores' fsyncs,
# which is not what they test (tests/ingest/vectors + review: 103 s on disk, 45 s on tmpfs, a loaded machine).
if "PYTEST_DEBUG_TEMPROOT" not in os.environ and os.path.isdir("/dev/shm") \
        and shutil.disk_usage("/dev/shm").free > 4 << 30:
    os.environ["PYTEST_DEBUG_TEMPROOT"] = "/dev/shm"

TEST_KEYS = ("test-key-current", "test-key-previous")


@dataclass
class RunningServer:
    url: str
    port: int
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def bound_socket(port: int = 0) -> socket.socket:
    # IPPROTO_TCP explicitly: asyncio only turns Nagle off on accepted sockets whose protocol says TCP;
    # with protocol 0 every keep-alive response waited ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock


def start_server(app, port: int = 0, health_path: str | None = None, timeout: float = 120) -> RunningServer:
    """Serves `app` from a thread; returns once uvicorn listens (and `health_path`, if given, answers 200)."""
    sock = bound_socket(port)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", http=HTTP_PROTOCOL))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    running = RunningServer(f"http://127.0.0.1:{port}", port, server, thread)

    def started() -> bool:
        if not thread.is_alive():
            raise RuntimeError("server did not start")
        return server.started and (health_path is None or is_healthy(running.url + health_path))

    wait_until(started, timeout=timeout, what=f"{running.url}{health_path or ''} to answer")
    return running


def is_healthy(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="session")
def lite_data_dir(tmp_path_factory) -> Path:
    """A data dir whose models/ holds the lite ONNX exports, shared by every test that runs lite.

    Set SIGHTLINE_LITE_TEST_CACHE to a persistent folder to skip the (one-minute) export on later runs.
    """
    persistent = os.environ.get("SIGHTLINE_LITE_TEST_CACHE")
    if persistent:
        (Path(persistent) / "models").mkdir(parents=True, exist_ok=True)
        return Path(persistent)
    return tmp_path_factory.mktemp("lite-data")


@pytest.fixture(scope="session")
def ml_settings(tmp_path_factory) -> MLSettings:
    return MLSettings(
        models="tiny",
        api_key=",".join(TEST_KEYS),
        data_dir=tmp_path_factory.mktemp("ml-data"),
        max_batch_size=64,
        model_batch_size=8,
        max_request_bytes=64 * 1024 * 1024,
        max_image_pixels=50_000_000,
        decode_workers=2,
        model_threads=2,
    )


@pytest.fixture(scope="session")
def ml_app(ml_settings):
    """The ML service app, shared by the session: in-process tests reach it through
    `httpx.ASGITransport(app=ml_app)` (the models load on the first request), `ml_server` serves it."""
    from sightline.inference.app import create_app

    return create_app(ml_settings)


@pytest.fixture(scope="session")
def ml_server(ml_app) -> Iterator[RunningServer]:
    running = start_server(ml_app, health_path="/health")
    yield running
    running.stop()


@pytest.fixture()
def ml_client(ml_server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=ml_server.url, headers={"x-api-key": TEST_KEYS[0]}, timeout=60) as client:
        yield client


def ingest_settings(ml_url: str, tmp_path: Path, roots: list[Path], **overrides) -> IngestSettings:
    values = dict(
        ml_url=ml_url,
        api_key=TEST_KEYS[0],
        data_dir=tmp_path / "data",
        ingest_roots=",".join(str(root) for root in roots),
        ml_retries=2,
        ml_backoff=0.1,
    )
    values.update(overrides)
    return IngestSettings(**values)


def start_ingest(settings: IngestSettings) -> RunningServer:
    from sightline.server import create_app

    return start_server(create_app(settings), health_path="/health")


@pytest.fixture()
def library(tmp_path) -> Path:
    root = tmp_path / "library"
    root.mkdir()
    return root


@pytest.fixture()
def ingest_server(ml_server, tmp_path, library) -> Iterator[RunningServer]:
    running = start_ingest(ingest_settings(ml_server.url, tmp_path, [library]))
    yield running
    running.stop()


@pytest.fixture()
def client(ingest_server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=ingest_server.url, timeout=60) as http:
        yield http
