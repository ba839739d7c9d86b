"""Which collection a page opens on, in Chromium: the top bar's "Photos" and "Sources" open the collection last
worked in (not the first by name), the sources page switches collection, and the photos page keeps its query
when the collection changes."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.samples import distinct_image
from tests.ui.helpers import uploaded_collection

pytestmark = pytest.mark.ui


@pytest.fixture(scope="module")
def two(serve) -> str:
    """A service with 'alpha' (3 photos) and 'zulu' (2 others): alpha comes first by name."""
    service = serve()
    with httpx.Client(base_url=service.url, timeout=60) as client:
        for name, seeds in (("alpha", range(400, 403)), ("zulu", range(500, 502))):
            uploaded_collection(client, name, [("files", (f"{name}{i}.jpg", distinct_image(i), "image/jpeg"))
                                               for i in seeds])
    return service.url


def top_bar(page: Page, label: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=label, exact=True).click()


def test_the_top_bar_opens_the_collection_last_worked_in(two, open_page):
    page = open_page(two)
    page.goto("/")
    top_bar(page, "Photos")  # nothing worked in yet: the first by name
    expect(page.locator("#search-collection")).to_have_value("alpha")
    expect(page.locator("#results-summary")).to_have_text("3 photos, newest first")  # the page's script is on
    page.select_option("#search-collection", "zulu")
    expect(page).to_have_url(re.compile(r"collection=zulu"))
    top_bar(page, "Sources")
    expect(page).to_have_url(re.compile(r"/collections/zulu/sources$"))
    top_bar(page, "Photos")
    expect(page.locator("#search-collection")).to_have_value("zulu")
    expect(page.locator("#results .result-name")).to_have_count(2)

    page.goto("/collections/alpha/map")  # a collection's own page is working in it too
    top_bar(page, "Sources")
    expect(page).to_have_url(re.compile(r"/collections/alpha/sources$"))
    page.wait_for_load_state()  # its script is on
    page.select_option("#sources-collection", "zulu")  # the sources page switches collection
    expect(page).to_have_url(re.compile(r"/collections/zulu/sources$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sources of zulu")
    top_bar(page, "Photos")
    expect(page.locator("#search-collection")).to_have_value("zulu")


def test_another_collection_runs_the_same_query(two, open_page):
    page = open_page(two)
    page.goto("/search?collection=alpha")
    expect(page.locator("#results-summary")).to_have_text("3 photos, newest first")  # the page's script is on
    page.fill("#search-text", "stripes")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#results-title")).to_have_text("“stripes”")
    expect(page.locator("#results .result-name")).to_have_count(3)
    page.select_option("#search-collection", "zulu")
    expect(page).to_have_url(re.compile(r"collection=zulu&q=stripes$"))
    expect(page.locator("#search-text")).to_have_value("stripes")
    expect(page.locator("#results-title")).to_have_text("“stripes”")
    expect(page.locator("#results .result-name")).to_have_count(2)
    assert all(name.startswith("zulu") for name in page.locator("#results .result-name").all_text_contents())
    page.go_back()  # the collection follows the history too
    expect(page.locator("#search-collection")).to_have_value("alpha")
    expect(page.locator("#results .result-name")).to_have_count(3)
