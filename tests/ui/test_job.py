"""One job's page: progress live to the end without a reload, the errors table, the log, retry, 404."""

from __future__ import annotations

import asyncio
import re
import threading

import pytest
from playwright.sync_api import Page, Route, expect

from tests.helpers import wait_for_job
from tests.samples import distinct_image
from tests.ui.helpers import IMAGES

pytestmark = pytest.mark.ui

# Records every change the page makes to the progress bar and its text, and marks the document so that a
# reload shows (the mark is gone).
RECORD_PROGRESS = """() => {
    window.__sameDocument = true;
    const bar = document.querySelector("#job-progress");
    const text = document.querySelector("#job-progress-text");
    window.__progress = [];
    const record = () => window.__progress.push([bar.getAttribute("value"), text.textContent]);
    record();
    const observer = new MutationObserver(record);
    observer.observe(bar, { attributes: true });
    observer.observe(text, { childList: true, characterData: true, subtree: true });
}"""


def test_progress_moves_live_to_100(page, api, photos, shots, ingest, monkeypatch):
    # The job's first ML request waits until the page records: a fast machine finished the job before the page
    # had loaded, and there was no progress to see.
    ml, recording = ingest.server.config.app.state.services.ml, threading.Event()
    embed_files = ml.embed_files

    async def after_recording_starts(*args, **kwargs):
        await asyncio.to_thread(recording.wait, 60)
        return await embed_files(*args, **kwargs)

    monkeypatch.setattr(ml, "embed_files", after_recording_starts)
    assert api.post("/api/v1/collections", json={"name": "live"}).status_code == 201
    answer = api.post("/api/v1/ingest/scan", json={"collection": "live", "directory_path": str(photos / "holiday")})
    page.goto(f"/jobs/{answer.json()['job_id']}")
    page.evaluate(RECORD_PROGRESS)
    recording.set()

    expect(page.locator("#job-state")).to_have_text("completed with errors", timeout=90_000)
    seen = [tuple(entry) for entry in page.evaluate("window.__progress")]
    numbers = [int(value) for value, _ in seen if value is not None]
    assert numbers[-1] == 100 and seen[-1][1] == "100 %", seen
    assert any(n < 100 for n in numbers), f"progress never seen below 100 %: {seen}"
    assert numbers == sorted(numbers), seen
    assert page.evaluate("window.__sameDocument") is True  # no reload happened
    expect(page.locator('[data-count="failed"]')).to_have_text("1")
    expect(page.locator('[data-count="done"]')).to_have_text(str(IMAGES + 1))
    expect(page.locator("#job-eta")).to_have_text("—")
    expect_finished_with_one_error(page)
    page.screenshot(path=shots / "job.png", full_page=True)


def expect_finished_with_one_error(page: Page) -> None:
    """The errors table names the corrupt file and its code; the log followed along; retry is offered."""
    row = page.locator("#errors-table tbody tr", has_text="broken.jpg")
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(2)).to_have_text("UNSUPPORTED_FORMAT")
    expect(page.locator("#errors-count")).to_have_text("(1)")
    expect(page.locator("#job-log")).to_contain_text("finished:")
    expect(page.locator("#job-progress")).to_have_attribute("value", "100")
    expect(page.locator("#job-cancel")).to_be_hidden()  # a finished job offers no cancel
    expect(page.get_by_role("button", name="Retry failed")).to_be_enabled()
    # broken.jpg's UNSUPPORTED_FORMAT is no failure a retry mends: retry is offered, not pressed on the user
    expect(page.locator("#job-retry")).not_to_have_class(re.compile(r"\bprimary\b"))
    expect(page.get_by_role("button", name="Retry failed")).to_have_accessible_description(
        re.compile(r"will most likely fail again"))
    expect(page.locator("#job-retry-hint")).to_be_visible()


def test_a_failure_a_retry_may_mend_keeps_retry_the_primary_action(page, holiday):
    def retriable(route: Route) -> None:
        response = route.fetch()
        route.fulfill(response=response, body=response.text().replace('"retriable": false', '"retriable": true'))

    page.route(f"**/jobs/{holiday['job_id']}", retriable)
    page.goto(f"/jobs/{holiday['job_id']}")
    expect(page.locator("#job-log")).to_contain_text("finished:")  # the page's script has run
    expect(page.locator("#job-retry")).to_have_class(re.compile(r"\bprimary\b"))
    expect(page.locator("#job-retry-hint")).to_be_hidden()
    expect(page.locator("#job-retry")).not_to_have_attribute("aria-describedby", re.compile(r"."))


def test_finished_job_comes_back_from_the_server(page, holiday):
    page.goto(f"/jobs/{holiday['job_id']}")
    expect(page.locator("#job-state")).to_have_text("completed with errors")
    expect(page.locator("#job-progress-text")).to_have_text("100 %")
    expect_finished_with_one_error(page)


def test_retry_failed_queues_the_file_again(page, holiday):
    page.goto(f"/jobs/{holiday['job_id']}")
    page.get_by_role("button", name="Retry failed").click()
    expect(page.locator("#live-status")).to_contain_text("1 failed file queued again", timeout=10_000)
    expect(page.locator("#job-log")).to_contain_text("retry: 1 failed file queued again")
    # It fails again; the page follows.
    expect(page.locator("#job-state")).to_have_text("completed with errors", timeout=30_000)
    expect(page.get_by_role("button", name="Retry failed")).to_be_enabled()


def test_unknown_job_is_404(page):
    assert page.goto("/jobs/no-such-job").status == 404
    expect(page.locator("#error-message")).to_have_text("There is no job with the id no-such-job.")
    expect(page.get_by_role("main").get_by_role("link", name="All jobs")).to_have_attribute("href", "/jobs")


def test_an_uploads_errors_name_the_file_as_it_was_sent(page, api):
    """Not the copy in the server's uploads folder (its path stays in the title), as rendered by the server and
    again by the page after a retry."""
    assert api.post("/api/v1/collections", json={"name": "sent"}).status_code == 201
    files = [("files", ("good.png", distinct_image(5, fmt="PNG"), "image/png")),
             ("files", ("broken.jpg", b"not a JPEG" * 20, "image/jpeg"))]
    job = wait_for_job(api, api.post("/api/v1/ingest/upload", data={"collection": "sent"}, files=files)
                       .json()["job_id"])
    assert job["state"] == "completed_with_errors", job
    page.goto(f"/jobs/{job['job_id']}")
    cell = page.locator("#errors-table tbody td.path")
    expect(cell).to_have_text("broken.jpg")
    expect(cell).to_have_attribute("title", re.compile(r"uploads.*broken\.jpg$"))
    page.evaluate("document.querySelector('#errors-table tbody tr').dataset.server = 'yes'")
    page.get_by_role("button", name="Retry failed").click()
    redrawn = page.locator("#errors-table tbody tr:not([data-server]) td.path")
    expect(redrawn).to_have_text("broken.jpg", timeout=30_000)
    expect(redrawn).to_have_attribute("title", re.compile(r"uploads.*broken\.jpg$"))
    api.delete("/api/v1/collections/sent")


def test_while_the_server_is_lost_cancel_waits_for_it(serve, open_page):
    ingest = serve()
    # A job the runner never picks up: it stays queued.
    job = ingest.server.config.app.state.services.jobdb.create_job("waiting", "sync", "/photos/2024", {})
    page = open_page(ingest.url)
    page.route("**/events*", lambda route: route.abort())  # the live updates cannot connect
    page.goto(f"/jobs/{job.job_id[:8]}")  # the short id the UI shows leads to the page under the full one
    expect(page).to_have_url(f"/jobs/{job.job_id}")
    expect(page.locator("h1 + .path")).to_contain_text("Sync into waiting from /photos/2024")
    expect(page.locator("#job-progress-text")).to_have_text("")  # "queued" alone, not "queued · scanning…"
    expect(page.locator("#live-status")).to_have_text("Connection lost; reconnecting…")
    cancel = page.get_by_role("button", name="Cancel job")
    expect(cancel).to_be_disabled()

    page.unroute("**/events*")  # the browser reconnects by itself
    expect(page.locator("#live-status")).to_have_text("Live updates on.", timeout=30_000)
    expect(cancel).to_be_enabled()
    cancel.click()
    expect(page.locator("#job-state")).to_have_text("cancelled")
    expect(cancel).to_be_hidden()


def test_a_running_job_offers_cancel_alone(serve, open_page):
    """The walk-through's running job showed a disabled "Go on with 32 not reached" beside "Cancel job"."""
    ingest = serve()
    job = ingest.server.config.app.state.services.jobdb.create_job("waiting", "scan", "/photos/2024", {})
    page = open_page(ingest.url)
    answer = {"state": "running"}

    def running(route) -> None:  # the server's answer as a job with 32 files still to reach
        body = route.fetch().json()
        if answer["state"] == "running":
            body.update(state="running", is_terminal=False, percent=40)
        else:
            body.update(state="cancelled", is_terminal=True)
        body["counts"].update(pending=32)
        route.fulfill(json=body)

    page.route(f"**/api/v1/jobs/{job.job_id}", running)
    page.route("**/events*", lambda route: route.fulfill(status=502))  # no live updates: the page polls
    page.goto(f"/jobs/{job.job_id}")
    expect(page.locator("#job-state")).to_have_text("running")
    expect(page.get_by_role("button", name="Cancel job")).to_be_visible()
    expect(page.locator("#job-retry")).to_be_hidden()
    answer["state"] = "cancelled"  # once it has ended, it goes on with the files it never reached
    expect(page.get_by_role("button", name="Go on with 32 not reached")).to_be_enabled()
    expect(page.get_by_role("button", name="Cancel job")).to_be_hidden()


def test_while_the_server_is_lost_no_eta_is_shown(serve, open_page):
    """The walk-through's "ETA 9 s" on a job whose server was down: nothing is known to move then."""
    ingest = serve()
    job = ingest.server.config.app.state.services.jobdb.create_job("waiting", "sync", "/photos/2024", {})
    page = open_page(ingest.url)
    server = {"up": True}

    def running(route) -> None:  # the server's answer as a job halfway with 30 s to go, while it is up
        if not server["up"]:
            route.abort()
            return
        body = route.fetch().json()
        body.update(state="running", is_terminal=False, percent=50, eta_seconds=30)
        route.fulfill(json=body)

    page.route(f"**/api/v1/jobs/{job.job_id}", running)
    page.route("**/events*", lambda route: route.fulfill(status=502))  # no live updates: the page polls
    page.goto(f"/jobs/{job.job_id}")
    expect(page.locator("#job-eta")).to_have_text("30 s")
    server["up"] = False
    expect(page.locator("#live-status")).to_contain_text("Cannot reach the server")
    expect(page.locator("#job-eta")).to_have_text("—")


def test_a_syncs_errors_are_those_of_its_run_each_with_its_time_and_the_sources_page_has_the_current_ones(page, api,
                                                                                                          photos):
    """The sources page's "1 file cannot be read" links to the job where it failed; once the file is fixed and a
    later sync took it in, that job's list still names it: the page says what the list is."""
    folder = photos / "fixedlater"
    folder.mkdir()
    (folder / "good.jpg").write_bytes(distinct_image(500))
    (folder / "bad.jpg").write_bytes(b"not a JPEG" * 10)
    assert api.post("/api/v1/collections", json={"name": "fixedlater"}).status_code == 201
    added = api.post("/api/v1/collections/fixedlater/sources", json={"path": str(folder), "watch": False}).json()
    first = wait_for_job(api, added["job_id"])
    assert first["state"] == "completed_with_errors", first
    (folder / "bad.jpg").write_bytes(distinct_image(501))  # fixed
    source_id = api.get("/api/v1/collections/fixedlater/sources").json()["sources"][0]["source_id"]
    later = wait_for_job(api, api.post(f"/api/v1/collections/fixedlater/sources/{source_id}/sync").json()["job_id"])
    assert later["counts"]["done"] == 1
    assert api.get("/api/v1/collections/fixedlater/sources").json()["sources"][0]["unreadable"] == 0

    page.goto(f"/jobs/{first['job_id']}")
    expect(page.locator("#errors-heading")).to_have_text("Files that failed in this job (1)")
    row = page.locator("#errors-table tbody tr")
    expect(row.locator("td.path")).to_have_text(str(folder / "bad.jpg"))  # as it was then
    failed_at = api.get(f"/api/v1/jobs/{first['job_id']}/errors").json()["errors"][0]["at"]
    expect(row.locator('td[data-label="When"] time')).to_have_attribute("datetime", failed_at)
    hint = page.locator("#errors-hint")
    expect(hint).to_contain_text("a file fixed since, and taken in by a later job or sync, is still listed here")
    expect(hint.get_by_role("link", name="Sources")).to_have_attribute("href", "/collections/fixedlater/sources")
    api.delete(f"/api/v1/collections/fixedlater/sources/{source_id}")
    api.delete("/api/v1/collections/fixedlater")


@pytest.mark.parametrize("width", [1280, 800, 375])
def test_the_counts_fill_their_rows_and_none_is_left_alone_on_one(open_page, ingest, holiday, width):
    """The walk-through's ETA card wrapping alone onto a second row at 1280 px."""
    page = open_page(ingest.url, viewport={"width": width, "height": 800})
    page.goto(f"/jobs/{holiday['job_id']}")
    tops = [box["y"] for box in (card.bounding_box() for card in page.locator("#job-counts > div").all())]
    rows = [tops.count(top) for top in sorted(set(tops))]
    assert len(set(rows)) == 1 and rows[0] > 1, rows  # rows of the same length
    if width == 1280:
        assert rows == [10], rows
