"""Browser tests of the admin UI: Debian's Chromium through Playwright, against the ingestion service as users
run it (`sightline.server.create_app`) on 127.0.0.1, with the tiny ML models.

Screenshots go to a temporary folder (see `shots`).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import RunningServer, bound_socket, ingest_settings, start_ingest
from tests.helpers import wait_for_job
from tests.samples import camera_like_jpeg, distinct_image
from tests.ui.helpers import DESKTOP, IMAGES

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def photos(tmp_path_factory) -> Path:
    """A root with a 'holiday' folder: distinct images, one photo with EXIF, one corrupt file."""
    root = tmp_path_factory.mktemp("photos")
    holiday = root / "holiday"
    holiday.mkdir()
    for i in range(IMAGES):
        (holiday / f"img{i:03d}.jpg").write_bytes(distinct_image(i))
    (holiday / "camera.jpg").write_bytes(camera_like_jpeg(640, 480, seed=3))
    (holiday / "broken.jpg").write_bytes(b"this is not a JPEG at all" * 10)
    return root


@pytest.fixture(scope="session")
def serve(tmp_path_factory, ml_server, photos) -> Iterator[Callable[..., RunningServer]]:
    """serve(**settings) → a new ingestion service (API + UI) over `photos`, stopped at the end of the session."""
    started: list[RunningServer] = []

    def start(**overrides) -> RunningServer:
        values = dict(
            ml_url=ml_server.url,
            ml_batch_size=6,  # small batches and one in flight: progress moves in visible steps
            batches_in_flight=1,
        )
        values.update(overrides)
        server = start_ingest(ingest_settings(tmp_path=tmp_path_factory.mktemp("ingest"), roots=[photos], **values))
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def ingest(serve) -> RunningServer:
    """The service most tests share; tests that need an empty one start their own with `serve`."""
    return serve()


@pytest.fixture(scope="session")
def ingest_without_ml(serve) -> RunningServer:
    """A service whose ML service is down (nothing listens at its URL)."""
    sock = bound_socket()
    dead_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()
    return serve(ml_url=dead_url, ml_retries=0)


@pytest.fixture(scope="session")
def api(ingest) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=ingest.url, timeout=60) as client:
        yield client


@pytest.fixture(scope="session")
def holiday(api, photos) -> dict:
    """The collection 'holiday', with the photos/holiday folder ingested: its finished job."""
    assert api.post("/api/v1/collections", json={"name": "holiday"}).status_code == 201
    answer = api.post("/api/v1/ingest/scan", json={"collection": "holiday", "directory_path": str(photos / "holiday")})
    job = wait_for_job(api, answer.json()["job_id"])
    assert job["state"] == "completed_with_errors", job
    return job


@pytest.fixture(scope="session")
def small(api) -> dict:
    """The collection 'small': six uploaded PNG images. Its finished job."""
    assert api.post("/api/v1/collections", json={"name": "small"}).status_code == 201
    files = [("files", (f"stripes{i}.png", distinct_image(i, fmt="PNG"), "image/png")) for i in range(6)]
    answer = api.post("/api/v1/ingest/upload", data={"collection": "small"}, files=files)
    job = wait_for_job(api, answer.json()["job_id"])
    assert job["state"] == "completed", job
    return job


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture()
def open_page(browser):
    """open_page(base_url, viewport=DESKTOP) → a page in a new browser context. The test fails on any
    uncaught script error of its pages."""
    opened = []

    def open_(base_url: str, viewport: dict = DESKTOP):
        context = browser.new_context(base_url=base_url, viewport=viewport)
        context.set_default_timeout(15_000)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        opened.append((context, errors))
        return page

    yield open_
    for context, errors in opened:
        context.close()
        assert not errors, errors


@pytest.fixture()
def page(open_page, ingest):
    """A desktop-sized page on the shared service."""
    return open_page(ingest.url)


@pytest.fixture(scope="session")
def shots(tmp_path_factory) -> Iterator[Path]:
    """Where the tests' screenshots go. The README's come from bench/screenshots.py (real photos, `lite`
    models); only the login page's is the tests' (copied into docs/ with SIGHTLINE_UPDATE_SCREENSHOTS=1)."""
    folder = tmp_path_factory.mktemp("screenshots")
    yield folder
    if os.environ.get("SIGHTLINE_UPDATE_SCREENSHOTS") and (folder / "login.png").is_file():
        shutil.copyfile(folder / "login.png", REPO / "docs" / "screenshots" / "login.png")


LIBRARY_FOLDERS = {"trips/alps": "JPEG", "family": "JPEG", "scans": "PNG"}
LIBRARY_PER_FOLDER = 80
LIBRARY_START = 1_640_995_200  # 2022-01-01 UTC; photo i of the library is dated i × 3 days later


@pytest.fixture(scope="session")
def library(api, photos) -> dict:
    """The collection 'library': 240 photos without EXIF in three folders (80 PNG scans), their file dates
    three days apart over two years — photo i (name `pNNN`) is the i-th oldest. Its finished job."""
    index = 0
    for folder, fmt in LIBRARY_FOLDERS.items():
        place = photos / "library" / folder
        place.mkdir(parents=True)
        for _ in range(LIBRARY_PER_FOLDER):
            path = place / f"p{index:03d}.{'png' if fmt == 'PNG' else 'jpg'}"
            path.write_bytes(distinct_image(index, size=(64, 48), fmt=fmt))
            moment = LIBRARY_START + index * 3 * 86400
            os.utime(path, (moment, moment))
            index += 1
    assert api.post("/api/v1/collections", json={"name": "library"}).status_code == 201
    answer = api.post("/api/v1/ingest/scan", json={"collection": "library", "directory_path": str(photos / "library")})
    job = wait_for_job(api, answer.json()["job_id"])
    assert job["state"] == "completed", job
    return job
