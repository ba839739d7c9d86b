"""The search page: by text, by image, "more like this", filters from the facets, the detail view."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.samples import distinct_image
from tests.ui.helpers import PHONE, images_loaded, no_horizontal_scroll

pytestmark = pytest.mark.ui


def test_text_search_shows_thumbnails_and_scores(page, holiday, shots):
    page.goto("/search?collection=holiday")
    expect(page.locator("#tiny-warning")).to_be_visible()
    page.fill("#search-text", "a red square on a blue background")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#results-summary")).to_have_text("24 images for “a red square on a blue background”")
    images_loaded(page, "#results img")
    expect(page.locator("#results .score").first).to_have_text(re.compile(r"^-?\d\.\d{3}$"))
    assert "q=a+red+square" in page.url
    page.screenshot(path=shots / "search.png")


def test_image_search_detail_and_more_like_this(page, holiday, photos):
    page.goto("/search?collection=holiday")
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
    expect(page.locator("#detail-facts")).to_contain_text(str(photos / "holiday"))
    original = page.locator("#detail-original").get_attribute("href")
    answer = page.request.get(original)
    assert answer.ok and answer.body() == (photos / "holiday" / "img007.jpg").read_bytes()
    page.get_by_role("button", name="More like this").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#results-summary")).to_contain_text("like img007.jpg")
    images_loaded(page, "#results img")
    expect(page.locator("#results .result-name", has_text="img007.jpg")).to_have_count(0)
    expect(page.locator("#query-image")).to_be_hidden()  # "more like this" replaced the query image


def test_filters_come_from_the_facets(page, holiday, shots):
    page.goto("/search?collection=holiday")
    # The camera filter leaves the one EXIF photo; a date range excludes it.
    page.locator("#filters summary").click()
    page.select_option("#camera", "Sightline Synthetic One")
    page.fill("#search-text", "anything")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#results-summary")).to_contain_text("1 image for")
    expect(page.locator("#results .result-name")).to_have_text("camera.jpg")

    # The detail view opens from the keyboard: a result is a real button.
    page.locator("#results button.result-button").focus()
    page.keyboard.press("Enter")
    dialog = page.locator("#detail")
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
    expect(page.locator("#results-summary")).to_have_text("No image matches for “anything”.")


def test_checks_the_form_before_searching(page, holiday):
    page.goto("/search?collection=holiday")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#search-text-error")).to_have_text("Type a description, or drop an image to search by.")
    page.locator("#filters summary").click()
    page.fill("#limit", "501")
    page.fill("#search-text", "anything")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#limit-error")).to_have_text("Enter a whole number from 1 to 500.")
    expect(page.locator("#results li")).to_have_count(0)


def test_a_link_runs_its_query_at_phone_width(small, ingest, open_page, shots):
    page = open_page(ingest.url, viewport=PHONE)
    page.goto("/search?collection=small&q=stripes")
    images_loaded(page, "#results img")
    expect(page.locator("#results li")).to_have_count(6)
    no_horizontal_scroll(page)
    page.screenshot(path=shots / "mobile-search.png", full_page=True)
    page.locator("#results button.result-button").first.click()
    expect(page.locator("#detail")).to_be_visible()
    images_loaded(page, "#detail-image")
    no_horizontal_scroll(page)
