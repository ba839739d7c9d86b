"""The CLI against the ingestion server in-process: commands run through typer's CliRunner, their HTTP goes
through a transport into the app (a starlette TestClient, lifespan started), and the app reaches the
session's ML app over `httpx.ASGITransport`. No socket, no process."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from click.testing import Result
from starlette.testclient import TestClient
from typer.testing import CliRunner

from sightline.cli import app, follow
from sightline.config import IngestSettings
from sightline.server import create_app
from tests.conftest import TEST_KEYS
from tests.samples import distinct_image

URL = "http://localhost:8002"  # a loopback name (the Host allow-list); the transport carries every request
ENV = {"COLUMNS": "250", "SIGHTLINE_URL": None, "SIGHTLINE_ADMIN_TOKEN": None}
Sightline = Callable[..., Result]


@dataclass
class InProcess:
    """A server in this process: `transport` for the CLI, `http` for the tests' own checks."""

    http: TestClient

    @property
    def transport(self) -> httpx.BaseTransport:
        return httpx.MockTransport(self.send)

    def send(self, request: httpx.Request) -> httpx.Response:
        """One request of the CLI's client through the TestClient (whose own httpx is another package)."""
        answer = self.http.request(request.method, str(request.url), headers=request.headers.multi_items(),
                                   content=request.read())
        headers = [(key, value) for key, value in answer.headers.multi_items() if key != "content-encoding"]
        return httpx.Response(answer.status_code, headers=headers, content=answer.content)


@dataclass
class Service(InProcess):
    clean: Path  # 4 good images
    mixed: Path  # 3 good images and a corrupt one, broken.jpg


def serve(settings: IngestSettings, ml_app) -> TestClient:
    """The ingestion server (API + UI) with the ML app in-process; enter it to run its lifespan."""
    return TestClient(create_app(settings, ml_transport=httpx.ASGITransport(app=ml_app)), base_url=URL)


def settings_for(data_dir: Path, roots: Path | None = None, **overrides) -> IngestSettings:
    return IngestSettings(ml_url="http://ml.test", api_key=TEST_KEYS[0], data_dir=data_dir,
                          ingest_roots=str(roots or ""), ml_retries=2, ml_backoff=0.1, **overrides)


@pytest.fixture(scope="package")
def service(ml_app, tmp_path_factory) -> Iterator[Service]:
    library = tmp_path_factory.mktemp("cli-library")
    clean, mixed = library / "clean", library / "mixed"
    for folder, indexes in ((clean, range(4)), (mixed, range(10, 13))):
        folder.mkdir()
        for i in indexes:
            (folder / f"img{i}.jpg").write_bytes(distinct_image(i))
    (mixed / "broken.jpg").write_bytes(b"this is not a picture\n" * 30)
    with serve(settings_for(tmp_path_factory.mktemp("cli-data"), library), ml_app) as http:
        yield Service(http, clean, mixed)


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch) -> None:
    """Following a job polls it; the tests' jobs take a fraction of the production half second."""
    monkeypatch.setattr(follow, "POLL_SECONDS", 0.05)


def invoke(transport: httpx.BaseTransport, *args: str, input: str | None = None, columns: int = 250) -> Result:
    return CliRunner().invoke(app, [*args, "--url", URL], env={**ENV, "COLUMNS": str(columns)}, input=input,
                              obj=transport)


@pytest.fixture()
def sightline(service) -> Sightline:
    """`sightline(*args)` runs the command against the package's service (`columns=` the terminal's width)."""
    return lambda *args, input=None, columns=250: invoke(service.transport, *args, input=input, columns=columns)


def job_id_in(output: str) -> str:
    found = re.search(r"Job ([0-9a-f]{32})", output)
    assert found, output
    return found.group(1)
