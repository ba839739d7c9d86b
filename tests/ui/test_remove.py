"""Removing an image from the index in the search page's detail view: asked first, the tile goes, the API
agrees; a failure is shown in the dialog."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.samples import distinct_image
from tests.ui.helpers import images_loaded, uploaded_collection

pytestmark = pytest.mark.ui


@pytest.fixture()
def trimmed(api) -> str:
    """The collection 'trimmed': three uploaded images."""
    files = [("files", (f"pick{i}.png", distinct_image(30 + i, fmt="PNG"), "image/png")) for i in range(3)]
    yield uploaded_collection(api, "trimmed", files)
    api.delete("/api/v1/collections/trimmed")


def test_remove_from_index_asks_then_removes_the_tile(page, api, trimmed):
    page.goto(f"/search?collection={trimmed}&q=stripes")
    tiles = page.locator("#results button.result-button")
    expect(tiles).to_have_count(3)
    images_loaded(page, "#results img")
    first_id = tiles.first.get_attribute("data-id")
    tiles.first.click()
    expect(page.locator("#detail")).to_be_visible()

    # the label says it asks first, as the one of a photo whose original is gone does (test_gone.py)
    page.get_by_role("button", name="Remove from index…", exact=True).click()
    page.get_by_role("button", name="Keep it").click()  # the confirm step: nothing removed
    assert api.get(f"/api/v1/collections/{trimmed}/points/{first_id}").status_code == 200
    page.get_by_role("button", name="Remove from index").click()
    page.get_by_role("button", name="Remove", exact=True).click()
    expect(page.locator("#detail")).to_be_hidden()
    expect(tiles).to_have_count(2)
    expect(page.locator(f'#results button[data-id="{first_id}"]')).to_have_count(0)
    assert api.get(f"/api/v1/collections/{trimmed}/points/{first_id}").status_code == 404

    # Removed elsewhere meanwhile: the dialog says why, and keeps the tile.
    second_id = tiles.first.get_attribute("data-id")
    tiles.first.click()
    expect(page.locator("#detail")).to_be_visible()  # the viewer opens once it has loaded the photo
    assert api.delete(f"/api/v1/collections/{trimmed}/points/{second_id}").status_code == 204
    page.get_by_role("button", name="Remove from index").click()
    page.get_by_role("button", name="Remove", exact=True).click()
    error = page.locator("#detail-error")
    expect(error).to_contain_text(f"Not removed: No point {second_id} in {trimmed}.")
    expect(error).to_have_attribute("data-code", "NOT_FOUND")
    expect(tiles).to_have_count(2)


def test_the_counts_on_the_page_follow_a_removal(page, trimmed):
    page.goto(f"/search?collection={trimmed}")
    summary, month = page.locator("#results-summary"), page.locator("#jump option").nth(1)
    everything = page.locator("#folders").get_by_role("button", name=re.compile(r"^All folders"))
    option = page.locator(f'#search-collection option[value="{trimmed}"]')
    expect(summary).to_have_text("3 photos, newest first")
    expect(month).to_have_text(re.compile(r" \(3\)$"))
    expect(everything).to_contain_text("3")
    expect(option).to_have_text(f"{trimmed} (3)")

    page.locator("#results button.result-button").first.click()
    title = page.locator("#detail-title")
    expect(title).to_have_text(re.compile(r"\.png$"))  # the photo's name, once the viewer has loaded it
    name = title.text_content()
    page.get_by_role("button", name="Remove from index").click()
    page.get_by_role("button", name="Remove", exact=True).click()
    expect(summary).to_have_text("2 photos, newest first")
    # on a line of its own, below the heading and its controls, not squeezing them
    expect(page.locator("#removed-note")).to_have_text(f"Removed {name} from the index.")
    expect(month).to_have_text(re.compile(r" \(2\)$"))
    expect(everything.locator(".count")).to_have_text("2")
    expect(option).to_have_text(f"{trimmed} (2)")
