"""The dashboard: collections, the ML service, finished jobs; the ML service down is said."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Route, expect

from tests.ui.helpers import IMAGES
from tests.ui.loading_ml import loading_ml_server

pytestmark = pytest.mark.ui

LITE_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def test_lists_collections_and_finished_jobs(page, holiday, shots):
    page.goto("/")
    expect(page.locator('[data-points="holiday"]')).to_have_text(str(IMAGES + 1))
    expect(page.locator("#ml-tiny")).to_be_visible()  # tiny test models are flagged
    expect(page.get_by_role("link", name=holiday["job_id"][:8])).to_be_visible()
    expect(page.locator("#running-jobs")).to_contain_text("No job is running.")
    page.screenshot(path=shots / "dashboard.png", full_page=True)


def test_running_job_is_followed_until_it_ends(serve, open_page):
    ingest = serve()
    # A job the runner never picks up: it stays queued until it is cancelled.
    job = ingest.server.config.app.state.services.jobdb.create_job("waiting", "upload", "upload", {})
    page = open_page(ingest.url)
    page.goto("/")
    row = page.locator(f'#running-jobs [data-job-id="{job.job_id}"]')
    expect(row.locator('[data-field="state"]')).to_have_text("queued")
    expect(row.locator('[data-field="percent"]')).to_have_text("")  # "queued" alone, not "queued · scanning…"
    page.evaluate("window.__sameDocument = true")

    assert httpx.post(f"{ingest.url}/api/v1/jobs/{job.job_id}/cancel").status_code == 200
    # The page sees the job end and reloads: the job moves to the recent jobs.
    expect(page.locator("#running-jobs")).to_contain_text("No job is running.")
    expect(page.get_by_role("link", name=job.job_id[:8])).to_be_visible()
    assert page.evaluate("window.__sameDocument") is None


def test_ml_service_down_is_said(ingest_without_ml, open_page):
    page = open_page(ingest_without_ml.url)
    page.goto("/")
    expect(page.locator("#ml-down")).to_contain_text("The ML service is down")


def test_ml_models_loading_are_said_neutrally_and_the_page_updates_once_they_are_ready(
        serve, open_page, ml_settings):
    with loading_ml_server(ml_settings) as (ml, let_load):
        ingest = serve(ml_url=ml.url)
        page = open_page(ingest.url)
        page.goto("/")
        expect(page.locator("#ml-loading")).to_contain_text("The ML service is loading its models")
        expect(page.locator("#ml-down")).to_have_count(0)
        page.evaluate("window.__sameDocument = true")

        let_load.set()
        expect(page.locator("#ml-heading + .facts .badge.ok")).to_have_text("up", timeout=30_000)
        expect(page.locator("#ml-loading")).to_have_count(0)
        assert page.evaluate("window.__sameDocument") is None  # it reloaded by itself


def test_a_job_started_elsewhere_appears(serve, open_page):
    ingest = serve()
    page = open_page(ingest.url)
    page.goto("/")
    expect(page.locator("#running-jobs")).to_contain_text("No job is running.")
    page.evaluate("window.__sameDocument = true")

    # Queued by someone else (the CLI, another tab, a folder's sync) after the page loaded.
    job = ingest.server.config.app.state.services.jobdb.create_job("waiting", "upload", "upload", {})
    row = page.locator(f'#running-jobs [data-job-id="{job.job_id}"]')
    expect(row.locator('[data-field="state"]')).to_have_text("queued")
    assert page.evaluate("window.__sameDocument") is None  # the page reloaded to show it
    assert httpx.post(f"{ingest.url}/api/v1/jobs/{job.job_id}/cancel").status_code == 200


def test_a_job_that_ended_between_two_polls_appears(serve, open_page):
    ingest = serve()
    page = open_page(ingest.url)
    page.goto("/")
    jobdb = ingest.server.config.app.state.services.jobdb
    page.wait_for_function("() => performance.getEntriesByType('resource').some((r) => r.name.includes('/api/v1/jobs?'))")
    page.evaluate("window.__sameDocument = true")
    job = jobdb.create_job("quick", "upload", "upload", {})
    jobdb.set_state(job.job_id, "cancelled")  # started and over before the page's next poll
    expect(page.get_by_role("link", name=job.job_id[:8])).to_be_visible()
    assert page.evaluate("window.__sameDocument") is None


def test_recent_jobs_are_the_last_finished_first_and_a_long_queue_hides_neither_them_nor_the_running_job(
        serve, open_page):
    ingest = serve()
    jobdb = ingest.server.config.app.state.services.jobdb
    early, later = (jobdb.create_job(name, "upload", "upload", {}) for name in ("early", "later"))
    jobdb.set_state(later.job_id, "cancelled")
    jobdb.set_state(early.job_id, "cancelled")  # created first, ended last (as a retried job does)
    working = jobdb.create_job("working", "upload", "upload", {})
    jobdb.set_state(working.job_id, "running")  # the runner never picks these jobs up: they stay as set
    waiting = [jobdb.create_job("waiting", "upload", "upload", {}) for _ in range(51)]  # syncs at start-up

    page = open_page(ingest.url)
    page.goto("/")
    recent = page.locator("#recent-jobs tbody tr")
    expect(recent.locator('td[data-label="Job"]')).to_have_text([early.job_id[:8], later.job_id[:8]])
    rows = page.locator("#running-jobs [data-job-id]")
    expect(rows.first).to_have_attribute("data-job-id", working.job_id)
    expect(rows.first.locator('[data-field="state"]')).to_have_text("running")
    expect(rows).to_have_count(1 + 50)
    expect(page.locator(f'#running-jobs [data-job-id="{waiting[-1].job_id}"]')).to_be_visible()

    # Nothing new: the page stays (every job its polls see is shown), over two polls.
    page.evaluate("window.__sameDocument = true")
    polled = "() => performance.getEntriesByType('resource').filter((r) => r.name.includes('/api/v1/jobs?')).length"
    seen = page.evaluate(polled)
    page.wait_for_function(f"() => ({polled})() >= {seen + 4}")
    assert page.evaluate("window.__sameDocument") is True


def test_the_collections_card_shows_every_link_at_desktop_width(page, holiday):
    """At 1280 px the card is half the page: its links wrap between links rather than run out of it ("Map"),
    with the `lite` models' long name in the Model column."""
    def lite(route: Route) -> None:
        response = route.fetch()
        route.fulfill(response=response, body=response.text().replace("tiny-random-clip", LITE_MODEL))

    page.route(re.compile(r"/$"), lite)
    page.goto("/")
    expect(page.locator('td[data-label="Model"]').first).to_contain_text(LITE_MODEL)
    card = page.locator("section.card", has=page.locator("#collections-heading"))
    wrap = card.locator(".table-wrap")
    expect(wrap).to_be_visible()
    assert wrap.evaluate("(node) => node.scrollWidth <= node.clientWidth"), "the collections table scrolls sideways"
    box = card.bounding_box()
    for link in card.get_by_role("link", name="Map", exact=True).all():
        shown = link.bounding_box()
        assert box["x"] <= shown["x"] and shown["x"] + shown["width"] <= box["x"] + box["width"], (shown, box)
