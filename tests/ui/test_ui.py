"""The admin UI in Debian's Chromium (Playwright), with both services running for real on 127.0.0.1.

Screenshots go to a temporary folder; run with SIGHTLINE_UPDATE_SCREENSHOTS=1 to refresh docs/screenshots/.
"""

from __future__ import annotations

import base64
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.conftest import TEST_KEYS, RunningServer, bound_socket, start_server

pytestmark = pytest.mark.ui

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 800}
ADMIN_TOKEN = "ui-test-admin-token"
REPO = Path(__file__).resolve().parents[2]
IMAGES = 48

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium", allow_module_level=True)

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402


# --- fixtures -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    """A root with a 'holiday' folder: 48 distinct images, one photo with EXIF, one corrupt file."""
    from tests.samples import camera_like_jpeg, distinct_image

    root = tmp_path_factory.mktemp("photos")
    holiday = root / "holiday"
    holiday.mkdir()
    for i in range(IMAGES):
        (holiday / f"img{i:03d}.jpg").write_bytes(distinct_image(i))
    (holiday / "camera.jpg").write_bytes(camera_like_jpeg(640, 480, seed=3))
    (holiday / "broken.jpg").write_bytes(b"this is not a JPEG at all" * 10)
    return root


def ingest_app(tmp_path_factory, ml_url: str, photos: Path, **overrides):
    from sightline.config import IngestSettings
    from sightline.ingest.app import create_app

    settings = IngestSettings(
        ml_url=ml_url, api_key=TEST_KEYS[0], data_dir=tmp_path_factory.mktemp("ingest-data"),
        ingest_roots=str(photos),
        ml_batch_size=6,  # small batches and one in flight: progress moves in visible steps
        batches_in_flight=1,
        **overrides,
    )
    return create_app(settings)


@pytest.fixture(scope="module")
def ingest(ml_server, photos, tmp_path_factory) -> Iterator[RunningServer]:
    running = start_server(ingest_app(tmp_path_factory, ml_server.url, photos), health_path="/health")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    if os.environ.get("SIGHTLINE_UPDATE_SCREENSHOTS"):
        folder = REPO / "docs" / "screenshots"
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    return tmp_path_factory.mktemp("screenshots")


class PageErrors:
    """Uncaught script errors of a page: a UI test fails on any."""

    def __init__(self, page: Page):
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def check(self) -> None:
        assert not self.errors, self.errors


def open_page(browser: Browser, base_url: str, viewport=DESKTOP) -> tuple[Page, PageErrors]:
    context = browser.new_context(base_url=base_url, viewport=viewport)
    context.set_default_timeout(15_000)
    page = context.new_page()
    return page, PageErrors(page)


def images_loaded(page: Page, selector: str) -> None:
    """Wait until every <img> under `selector` has loaded real pixels (and there is at least one)."""
    page.wait_for_function(
        """(selector) => {
            const images = Array.from(document.querySelectorAll(selector));
            return images.length > 0 && images.every((img) => img.complete && img.naturalWidth > 0);
        }""",
        arg=selector,
    )


def no_horizontal_scroll(page: Page) -> None:
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= PHONE["width"] + 1, f"{page.url} scrolls sideways: {width}px wide"


def wait_for_job(base_url: str, job_id: str, headers=None, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = httpx.get(f"{base_url}/api/v1/jobs/{job_id}", headers=headers, timeout=10).json()
        if job["state"] in ("completed", "completed_with_errors", "failed", "cancelled"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish")


# --- the whole flow -----------------------------------------------------------------------------------------


def test_collection_ingest_job_search_delete(browser, ingest, photos, shots):
    page, page_errors = open_page(browser, ingest.url)
    holiday = photos / "holiday"

    # Collections: inline validation from the page, then from the API (`where` → the field).
    page.goto("/collections")
    page.fill("#name", "bad name!")
    page.get_by_role("button", name="Create collection").click()
    expect(page.locator("#name-error")).to_be_visible()
    expect(page.locator("#name-error")).to_contain_text("letters")
    expect(page.locator("#name")).to_have_attribute("aria-invalid", "true")
    page.fill("#name", "holiday")
    expect(page.locator("#vector_size")).to_have_attribute("placeholder", "64")
    page.fill("#vector_size", "3")
    page.get_by_role("button", name="Create collection").click()
    expect(page.locator("#vector_size-error")).to_contain_text("does not match")
    expect(page.locator("#name-error")).to_be_hidden()
    page.fill("#vector_size", "")
    page.fill("#hnsw_m", "32")
    page.select_option("#quantization", "int8")
    page.get_by_role("button", name="Create collection").click()
    expect(page.locator('tr[data-collection="holiday"]')).to_be_visible()
    expect(page.locator("#created")).to_contain_text("holiday")
    params = httpx.get(f"{ingest.url}/api/v1/collections/holiday").json()["params"]
    assert (params["hnsw_m"], params["quantization"], params["vector_size"]) == (32, "int8", 64)
    page.screenshot(path=shots / "collections.png")

    # Ingest through the server-side folder browser.
    page.goto("/ingest?collection=holiday")
    expect(page.locator("#ingest-collection")).to_have_value("holiday")
    page.locator(f'#folder-list button[data-path="{photos}"]').click()
    expect(page.locator("#browse-where")).to_have_text(str(photos))
    page.get_by_role("button", name="holiday").click()
    expect(page.locator("#browse-where")).to_have_text(str(holiday))
    expect(page.locator("#directory_path")).to_have_value(str(holiday))
    expect(page.locator("#browse-count")).to_contain_text(f"{IMAGES + 2} image files")
    page.screenshot(path=shots / "ingest.png")
    page.get_by_role("button", name="Ingest this folder").click()
    page.wait_for_url("**/jobs/*")
    job_id = page.url.rsplit("/", 1)[1]

    # The progress bar moves live, without a reload, up to 100 %: record every change the page makes to it.
    page.evaluate("""() => {
        window.__sameDocument = true;
        const bar = document.querySelector("#job-progress");
        const text = document.querySelector("#job-progress-text");
        window.__progress = [];
        const record = () => window.__progress.push([bar.getAttribute("value"), text.textContent]);
        record();
        const observer = new MutationObserver(record);
        observer.observe(bar, { attributes: true });
        observer.observe(text, { childList: true, characterData: true, subtree: true });
    }""")
    expect(page.locator("#job-state")).to_have_text(re.compile("^completed|failed|cancelled"), timeout=90_000)
    seen = [tuple(entry) for entry in page.evaluate("window.__progress")]
    numbers = [int(value) for value, _ in seen if value is not None]
    assert numbers[-1] == 100 and seen[-1][1] == "100 %", seen
    assert any(n < 100 for n in numbers), f"progress never seen below 100 %: {seen}"
    assert numbers == sorted(numbers), seen
    assert page.evaluate("window.__sameDocument") is True  # no reload happened
    expect(page.locator("#job-state")).to_have_text("completed with errors")
    expect(page.locator('[data-count="failed"]')).to_have_text("1")
    expect(page.locator('[data-count="done"]')).to_have_text(str(IMAGES + 1))

    # The errors table names the corrupt file and its code; the log followed along.
    def check_job_page() -> None:
        row = page.locator("#errors-table tbody tr", has_text="broken.jpg")
        expect(row).to_have_count(1)
        assert row.locator("td").nth(2).inner_text().split()[0] in ("UNSUPPORTED_FORMAT", "DECODE_FAILED")
        expect(page.locator("#job-log")).to_contain_text("finished:")
        expect(page.locator("#job-progress")).to_have_attribute("value", "100")
        expect(page.get_by_role("button", name="Cancel job")).to_be_disabled()
        expect(page.get_by_role("button", name="Retry failed")).to_be_enabled()

    check_job_page()
    page.screenshot(path=shots / "job.png", full_page=True)
    page.reload()  # the state comes back from the API
    expect(page.locator("#job-state")).to_have_text("completed with errors")
    check_job_page()

    # "Retry failed" queues the corrupt file again; it fails again, the page follows.
    page.get_by_role("button", name="Retry failed").click()
    expect(page.locator("#live-status")).to_contain_text("1 failed file queued again", timeout=10_000)
    expect(page.locator("#job-log")).to_contain_text("retry: 1 failed files queued again")
    expect(page.locator("#job-state")).to_have_text("completed with errors", timeout=30_000)
    expect(page.get_by_role("button", name="Retry failed")).to_be_enabled()

    # Text search shows thumbnails with captions and scores.
    page.goto("/search?collection=holiday")
    expect(page.locator("#tiny-warning")).to_be_visible()
    page.fill("#search-text", "a red square on a blue background")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#results-summary")).to_contain_text("24 images for")
    images_loaded(page, "#results img")
    expect(page.locator("#results .score").first).to_have_text(re.compile(r"^-?\d\.\d{3}$"))
    assert "q=a+red+square" in page.url
    page.screenshot(path=shots / "search.png")

    # Image search: the same picture comes first.
    from tests.samples import distinct_image

    page.set_input_files("#search-image", files=[
        {"name": "query.jpg", "mimeType": "image/jpeg", "buffer": distinct_image(7)}])
    expect(page.locator("#query-name")).to_have_text("query.jpg")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#results-summary")).to_contain_text("like query.jpg")
    images_loaded(page, "#results img")
    expect(page.locator("#results .result-name").first).to_have_text("img007.jpg")

    # Detail view: metadata, caption, original; then "more like this".
    page.locator("#results button.result-button").first.click()
    dialog = page.locator("#detail")
    expect(dialog).to_be_visible()
    expect(page.locator("#detail-title")).to_have_text("img007.jpg")
    images_loaded(page, "#detail-image")
    expect(page.locator("#detail-facts")).to_contain_text("Embedding model")
    expect(page.locator("#detail-facts")).to_contain_text(str(holiday))
    original = page.locator("#detail-original").get_attribute("href")
    answer = page.request.get(original)
    assert answer.ok and answer.body() == (holiday / "img007.jpg").read_bytes()
    page.get_by_role("button", name="More like this").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#results-summary")).to_contain_text("like img007.jpg")
    images_loaded(page, "#results img")
    expect(page.locator("#results .result-name", has_text="img007.jpg")).to_have_count(0)

    # Filters come from the facets: the camera filter leaves the one EXIF photo; a date range excludes it.
    expect(page.locator("#query-image")).to_be_hidden()  # "more like this" replaced the query image
    page.locator("#filters summary").click()
    page.select_option("#camera", "Sightline Synthetic One")
    page.fill("#search-text", "anything")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#results-summary")).to_contain_text("1 image for")
    expect(page.locator("#results .result-name")).to_have_text("camera.jpg")
    page.locator("#results button.result-button").focus()  # keyboard: a result is a real button
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    images_loaded(page, "#detail-image")
    facts = page.locator("#detail-facts")
    for text in ("Sightline Synthetic One", "Synthetic 24-70mm f/2.8", "2023-07-14 16:20:05", "640 × 480 px"):
        expect(facts).to_contain_text(text)
    page.screenshot(path=shots / "detail.png")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    page.fill("#taken_after", "2024-01-01")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#results-summary")).to_contain_text("No image matches")

    # The dashboard lists the collection and the finished job.
    page.goto("/")
    expect(page.locator('[data-points="holiday"]')).to_have_text(str(IMAGES + 1))
    expect(page.locator("#ml-tiny")).to_be_visible()  # tiny test models are flagged
    expect(page.get_by_role("link", name=job_id[:8])).to_be_visible()
    page.screenshot(path=shots / "dashboard.png", full_page=True)
    page.goto("/jobs")
    expect(page.locator("#jobs-table")).to_contain_text("completed with errors")
    assert page.goto("/jobs/no-such-job").status == 404
    expect(page.locator("main")).to_contain_text("No job 'no-such-job'")

    # Delete with a typed confirmation.
    page.goto("/collections")
    page.get_by_role("button", name="Delete collection holiday").click()
    expect(page.locator("#delete-dialog")).to_be_visible()
    delete = page.locator("#delete-submit")
    expect(delete).to_be_disabled()
    page.fill("#delete-confirm", "holida")
    expect(delete).to_be_disabled()
    page.fill("#delete-confirm", "holiday")
    expect(delete).to_be_enabled()
    delete.click()
    expect(page.locator("#deleted")).to_contain_text("holiday")
    expect(page.locator("#no-collections")).to_be_visible()
    assert httpx.get(f"{ingest.url}/api/v1/collections/holiday").status_code == 404
    page_errors.check()
    page.context.close()


# --- admin token ----------------------------------------------------------------------------------------------


def test_admin_token_login(browser, ml_server, photos, tmp_path_factory, shots):
    server = start_server(ingest_app(tmp_path_factory, ml_server.url, photos, admin_token=ADMIN_TOKEN),
                          health_path="/health")
    try:
        assert httpx.get(f"{server.url}/api/v1/status").status_code == 401
        page, page_errors = open_page(browser, server.url)
        page.goto("/collections")
        page.wait_for_url("**/login?next=%2Fcollections")
        expect(page.get_by_label("Admin token")).to_be_focused()

        page.get_by_label("Admin token").fill("wrong-token")
        page.get_by_role("button", name="Log in").click()
        expect(page.locator("#token-error")).to_have_text("Wrong admin token.")
        assert "/login" in page.url
        page.screenshot(path=shots / "login.png")

        page.get_by_label("Admin token").fill(ADMIN_TOKEN)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{server.url}/collections")
        cookie = next(c for c in page.context.cookies() if c["name"] == "sightline_session")
        assert cookie["httpOnly"] and ADMIN_TOKEN not in cookie["value"]
        assert "sightline_session" not in page.evaluate("document.cookie")
        # The API answers the page (cookie), and the page's own forms work.
        assert page.evaluate("fetch('/api/v1/status').then((r) => r.status)") == 200
        page.fill("#name", "secured")
        page.get_by_role("button", name="Create collection").click()
        expect(page.locator('tr[data-collection="secured"]')).to_be_visible()

        # `next` only ever leads to a path on this site.
        for hostile in ("//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"):
            page.goto("/login?next=" + quote(hostile, safe=""))
            assert page.locator("#login-form").get_attribute("data-next") == "/"
        page.goto("/login?next=/jobs/a&next=//evil.example")  # what the guard makes of "/jobs/a&next=//evil..."
        assert page.locator("#login-form").get_attribute("data-next") in ("/", "/jobs/a")
        page.goto("/login?next=%2Fsearch%3Fcollection%3Dsecured")
        assert page.locator("#login-form").get_attribute("data-next") == "/search?collection=secured"

        # Log out: the cookie goes, pages redirect to the login again.
        page.goto("/")
        page.get_by_role("button", name="Log out").click()
        page.wait_for_url("**/login")
        page.goto("/search?collection=secured")  # the query survives the trip through the login
        page.wait_for_url("**/login?next=%2Fsearch%3Fcollection%3Dsecured")
        page_errors.check()
        page.context.close()
    finally:
        server.stop()


# --- phone width, upload by drag and drop ----------------------------------------------------------------------


def test_phone_width_and_drop_upload(browser, ingest, shots):
    from tests.samples import distinct_image

    created = httpx.post(f"{ingest.url}/api/v1/collections", json={"name": "phone"})
    assert created.status_code == 201, created.text
    page, page_errors = open_page(browser, ingest.url, viewport=PHONE)

    page.goto("/ingest?collection=phone")
    no_horizontal_scroll(page)
    files = [{"name": f"drop{i}.png", "b64": base64.b64encode(distinct_image(i, fmt="PNG")).decode()}
             for i in range(6)]
    transfer = page.evaluate_handle(
        """(files) => {
            const transfer = new DataTransfer();
            for (const f of files) {
                const bytes = Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0));
                transfer.items.add(new File([bytes], f.name, { type: "image/png" }));
            }
            return transfer;
        }""",
        files,
    )
    page.dispatch_event("#dropzone", "drop", {"dataTransfer": transfer})
    expect(page.locator("#file-summary")).to_contain_text("6 files")
    page.get_by_role("button", name="Upload and ingest").click()
    page.wait_for_url("**/jobs/*")
    expect(page.locator("#job-state")).to_have_text("completed", timeout=30_000)
    expect(page.locator("#job-progress-text")).to_have_text("100 %")
    no_horizontal_scroll(page)

    for path in ("/", "/collections", "/jobs"):
        page.goto(path)
        no_horizontal_scroll(page)

    page.goto("/search?collection=phone&q=stripes")
    images_loaded(page, "#results img")
    expect(page.locator("#results li")).to_have_count(6)
    no_horizontal_scroll(page)
    page.screenshot(path=shots / "mobile-search.png", full_page=True)
    page.locator("#results button.result-button").first.click()
    expect(page.locator("#detail")).to_be_visible()
    images_loaded(page, "#detail-image")
    no_horizontal_scroll(page)
    page_errors.check()
    page.context.close()
    assert httpx.delete(f"{ingest.url}/api/v1/collections/phone").status_code == 204


# --- the ML service down -------------------------------------------------------------------------------------


def test_ml_service_down_is_said(browser, photos, tmp_path_factory):
    sock = bound_socket()
    dead_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()
    server = start_server(ingest_app(tmp_path_factory, dead_url, photos, ml_retries=0), health_path="/health")
    try:
        page, page_errors = open_page(browser, server.url)
        page.goto("/")
        expect(page.locator("#ml-down")).to_contain_text("The ML service is down")
        page.goto("/collections")
        page.fill("#name", "nope")
        page.get_by_role("button", name="Create collection").click()
        expect(page.locator('#create-collection [data-error-for="_form"]')).to_contain_text("ML service: ")
        page_errors.check()
        page.context.close()
    finally:
        server.stop()


def test_safe_next():
    from sightline.ui.routes import safe_next

    assert safe_next("/jobs/abc?x=1") == "/jobs/abc?x=1"
    for hostile in (None, "", "//evil.example", "/\\evil.example", "https://evil.example", "javascript:x",
                    "evil", "/\r\nSet-Cookie: x", "/a\\b"):
        assert safe_next(hostile) == "/"
