from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sightline.config import IngestSettings
from tests.conftest import TEST_KEYS, RunningServer, start_server


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
    from sightline.ingest.app import create_app

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
