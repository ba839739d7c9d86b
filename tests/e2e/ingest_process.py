"""An ingestion service as a real child process (`sightline serve ingest`), which a test can kill and start again
on the same port and data directory."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import TEST_KEYS, is_healthy
from tests.helpers import free_port, wait_until


class IngestProcess:
    def __init__(self, data_dir: Path, library: Path, ml_url: str, port: int | None = None):
        self.data_dir, self.library, self.ml_url = data_dir, library, ml_url
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "IngestProcess":
        env = {
            **os.environ,
            "SIGHTLINE_DATA_DIR": str(self.data_dir),
            "SIGHTLINE_ML_URL": self.ml_url,
            "SIGHTLINE_API_KEY": TEST_KEYS[0],
            "SIGHTLINE_INGEST_ROOTS": str(self.library),
            "SIGHTLINE_ML_BATCH_SIZE": "2",
            "SIGHTLINE_LOG_LEVEL": "warning",
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sightline.cli", "serve", "ingest", "--port", str(self.port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        try:
            wait_until(self._healthy, timeout=60, interval=0.1, what=f"{self.url} to answer")
        except BaseException:
            self.kill()
            raise
        return self

    def _healthy(self) -> bool:
        assert self.process is not None
        assert self.process.poll() is None, self.process.stderr.read().decode()
        return is_healthy(f"{self.url}/health")

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as when the machine loses power."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)

    def __exit__(self, *exc_info: object) -> None:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
