"""The photos page as a place to gather photos: selecting results (click, Shift-click, the keyboard, "Select all
results") into a new collection; the collection's sources one click away; file names a person can tell apart."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.samples import distinct_image
from tests.ui.held_copy import HeldCopy
from tests.ui.helpers import PHONE, images_loaded, no_horizontal_scroll, uploaded_collection

pytestmark = pytest.mark.ui
CAMERA_NAMES = [f"IMG_20190704_1044{i:02d}.jpg" for i in range(4)]


@pytest.fixture()
def camera_roll(api):
    """The collection 'roll': four uploads named as a phone names them, alike but for their last digits."""
    files = [("files", (name, distinct_image(60 + i), "image/jpeg")) for i, name in enumerate(CAMERA_NAMES)]
    yield uploaded_collection(api, "roll", files)
    for name in ("roll", "picked"):
        api.delete(f"/api/v1/collections/{name}")


def test_selected_results_become_a_new_collection(page, api, camera_roll, shots):
    page.goto(f"/search?collection={camera_roll}")
    tiles = page.locator("#results button.result-button")
    expect(tiles).to_have_count(4)
    shown = page.locator("#results .result-name").all_text_contents()
    page.get_by_role("button", name="Select", exact=True).click()
    expect(page.locator("#selection-bar")).to_be_visible()
    tiles.nth(0).click()
    tiles.nth(2).click(modifiers=["Shift"])  # a range: the first three
    expect(page.locator("#selection-count")).to_have_text("3 photos selected.")
    tiles.nth(1).focus()
    page.keyboard.press("Space")  # the keyboard toggles a tile as a click does
    expect(tiles.nth(1)).to_have_attribute("aria-pressed", "false")
    expect(page.locator("#selection-count")).to_have_text("2 photos selected.")
    expect(page.locator("#detail")).to_be_hidden()  # selecting opens no viewer
    page.get_by_role("button", name="Select all results").click()
    expect(page.locator("#selection-count")).to_have_text("4 photos selected.")
    page.get_by_role("button", name="Clear selection").click()
    expect(page.locator("#selection-create")).to_be_disabled()
    tiles.nth(0).click()
    tiles.nth(3).click()
    images_loaded(page, "#results img")
    page.screenshot(path=shots / "select.png")

    page.get_by_label("New collection from selection").fill("picked")
    page.get_by_role("button", name="Create collection").click()
    expect(page.locator("#selection-status")).to_have_text("Created picked with 2 photos. Open picked")
    picked = api.get("/api/v1/collections/picked").json()
    assert picked["points_count"] == 2
    page.get_by_role("link", name="Open picked").click()
    expect(page.locator("#results-summary")).to_have_text("2 photos, newest first")
    assert sorted(page.locator("#results .result-name").all_text_contents()) == sorted([shown[0], shown[3]])


def test_a_copy_still_running_shows_its_progress_until_the_collection_is_made(page, api, camera_roll, shots):
    """A large selection is copied in the background: the status line follows the copy's task (its answers are
    held at "running", half done, as a slow copy's would be) and names the collection once it is made."""
    page.goto(f"/search?collection={camera_roll}")
    held = HeldCopy(page)
    page.get_by_role("button", name="Select", exact=True).click()
    tiles = page.locator("#results button.result-button")
    tiles.nth(0).click()
    tiles.nth(1).click()
    page.get_by_label("New collection from selection").fill("picked")
    page.get_by_role("button", name="Create collection").click()
    status = page.locator("#selection-status")
    expect(status).to_have_text("copying: 1 / 2")
    expect(status.get_by_role("progressbar", name="Copying into picked")).to_have_attribute("value", "50")
    expect(page.locator("#selection-create")).to_be_disabled()  # busy while it copies
    page.screenshot(path=shots / "select-copying.png")
    held.release()
    expect(status).to_have_text("Created picked with 2 photos. Open picked")
    assert api.get("/api/v1/collections/picked").json()["points_count"] == 2


def test_a_copy_that_fails_is_said_where_the_name_was_typed(page, api, camera_roll):
    page.goto(f"/search?collection={camera_roll}")
    held = HeldCopy(page)
    page.get_by_role("button", name="Select", exact=True).click()
    page.locator("#results button.result-button").first.click()
    page.get_by_label("New collection from selection").fill("picked")
    page.get_by_role("button", name="Create collection").click()
    expect(page.locator("#selection-status")).to_have_text("copying: 1 / 2")
    message = "Copying the selection into 'picked' failed: The disk is full. 'picked' was removed."
    held.release({"code": "DISK_FULL", "message": message, "where": "from_points"})
    expect(page.locator("#selection-name-error")).to_have_text(message)
    expect(page.locator("#selection-status")).to_have_text("")
    expect(page.get_by_role("button", name="Create collection")).to_be_enabled()


def test_a_taken_name_is_said_where_it_was_typed(page, api, camera_roll):
    page.goto(f"/search?collection={camera_roll}")
    page.get_by_role("button", name="Select", exact=True).click()
    page.locator("#results button.result-button").first.click()
    page.get_by_label("New collection from selection").fill(camera_roll)
    page.get_by_role("button", name="Create collection").click()
    expect(page.locator("#selection-name-error")).to_contain_text("already exists")
    expect(page.locator("#selection-name")).to_have_attribute("aria-invalid", "true")
    page.keyboard.press("Escape")  # leaves selecting: a click views a photo again
    expect(page.locator("#selection-bar")).to_be_hidden()
    page.locator("#results button.result-button").first.click()
    expect(page.locator("#detail")).to_be_visible()


def test_the_collections_sources_are_linked_from_the_photos_page(page, ingest, camera_roll, small):
    page.goto(f"/search?collection={camera_roll}")
    context = page.get_by_role("navigation", name="This collection")
    expect(context.get_by_role("link", name="Sources")).to_have_attribute("href", "/collections/roll/sources")
    page.select_option("#search-collection", "small")
    expect(context.get_by_role("link", name="Sources")).to_have_attribute("href", "/collections/small/sources")
    context.get_by_role("link", name="Sources").click()
    expect(page).to_have_url(f"{ingest.url}/collections/small/sources")
    page.goto("/sources?collection=roll")  # the navigation's way in
    expect(page).to_have_url(f"{ingest.url}/collections/roll/sources")


def test_file_names_alike_but_for_their_ends_can_be_told_apart_at_phone_width(camera_roll, ingest, open_page):
    page = open_page(ingest.url, viewport=PHONE)
    page.goto(f"/search?collection={camera_roll}")
    names = page.locator("#results .result-name")
    expect(names).to_have_count(4)
    for i in range(4):
        label = names.nth(i)
        expect(label).to_have_attribute("title", label.text_content())
        end = label.locator(".name-end")
        expect(end).to_have_text(label.text_content()[-8:])  # "4403.jpg": the digits that differ, never cut
        tile, box = page.locator("#results button.result-button").nth(i).bounding_box(), end.bounding_box()
        assert box["x"] >= tile["x"] and box["x"] + box["width"] <= tile["x"] + tile["width"] + 0.5, (box, tile)
    no_horizontal_scroll(page)
