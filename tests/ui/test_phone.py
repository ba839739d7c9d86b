"""At phone width no page scrolls sideways."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.ui.helpers import PHONE, no_horizontal_scroll

pytestmark = pytest.mark.ui


@pytest.mark.parametrize("path", ["/", "/collections", "/ingest", "/jobs", "/search"])
def test_page_fits_a_phone(path, holiday, ingest, open_page):
    page = open_page(ingest.url, viewport=PHONE)
    page.goto(path)
    no_horizontal_scroll(page)


def test_job_page_fits_a_phone(holiday, ingest, open_page):
    page = open_page(ingest.url, viewport=PHONE)
    page.goto(f"/jobs/{holiday['job_id']}")
    no_horizontal_scroll(page)


def test_the_photos_come_soon_after_the_search_and_the_viewer_has_touch_sized_buttons(small, ingest, open_page):
    """The walk-through at 390 px: the image drop box filled the top of the screen (the results ~600 px down),
    and the viewer's ‹ › were 26 px wide."""
    page = open_page(ingest.url, viewport={"width": 390, "height": 844})
    page.goto("/search?collection=small&q=stripes")
    expect(page.locator("#results li")).to_have_count(6)
    drop = page.locator("#image-drop").bounding_box()
    assert drop["height"] <= 64, drop
    top = page.locator("#search-form").bounding_box()["y"]  # (the tiny models' warning comes above it)
    heading = page.locator("#results-heading").bounding_box()
    assert heading["y"] - top <= 420, (top, heading)
    page.locator("#results button.result-button").first.click()
    expect(page.locator("#detail")).to_be_visible()
    for name in ("Previous photo", "Next photo", "Zoom out", "Zoom in", "Close"):
        box = page.get_by_role("button", name=name, exact=True).bounding_box()
        assert box["width"] >= 44 and box["height"] >= 44, (name, box)
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
