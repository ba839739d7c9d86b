"""A photo whose original file is gone since it was indexed: its tile and the viewer say "Original gone"
instead of a broken image, and the viewer offers to remove it from the index."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.helpers import wait_for_job
from tests.samples import distinct_image
from tests.ui.helpers import images_loaded, scanned

pytestmark = pytest.mark.ui


@pytest.fixture()
def vanished(api, photos) -> str:
    """The collection 'vanished': three photos scanned from a folder, then one file deleted. Its name."""
    scanned(api, photos / "vanished", "vanished", 60)
    (photos / "vanished" / "v1.jpg").unlink()
    yield "vanished"
    api.delete("/api/v1/collections/vanished")


def test_a_photo_whose_original_is_gone_says_so_and_can_be_removed(page, api, vanished, shots):
    page.goto(f"/search?collection={vanished}")
    tile = page.get_by_role("button", name="View v1.jpg (original gone)")
    expect(tile.locator(".result-gone")).to_have_text("Original gone")
    expect(page.locator("#results .result-gone")).to_have_count(1)  # the two others show their picture
    page.screenshot(path=shots / "gone-tile.png")

    tile.click()
    expect(page.locator("#detail-title")).to_have_text("v1.jpg")
    gone = page.locator("#detail-gone")
    expect(gone).to_contain_text("Original gone")
    expect(page.locator("#detail-gone-why")).to_contain_text("v1.jpg is gone.")
    expect(page.locator("#detail-image")).to_be_hidden()
    expect(page.locator("#detail-original")).to_be_hidden()
    page.screenshot(path=shots / "gone-viewer.png")
    gone.get_by_role("button", name="Remove from index…").click()
    expect(page.get_by_role("button", name="Keep it")).to_be_focused()
    page.get_by_role("button", name="Remove", exact=True).click()
    expect(page.locator("#detail")).to_be_hidden()
    expect(page.locator("#results button.result-button")).to_have_count(2)
    expect(page.locator("#results .result-gone")).to_have_count(0)
    assert api.get(f"/api/v1/collections/{vanished}").json()["points_count"] == 2
    page.locator("#results button.result-button").first.click()  # a photo that is there: its picture again
    expect(page.locator("#detail-image")).to_be_visible()
    expect(gone).to_be_hidden()


def test_a_tile_seen_before_its_original_went_says_so_too(page, api, photos):
    """Its thumbnail is cached by the service and the browser: both ask again whether the original is there."""
    scanned(api, photos / "seen", "seen", 70)
    try:
        page.goto("/search?collection=seen")
        images_loaded(page, "#results img")  # every thumbnail made, cached and shown
        (photos / "seen" / "v1.jpg").unlink()
        page.goto("/search?collection=seen")
        expect(page.get_by_role("button", name="View v1.jpg (original gone)").locator(".result-gone")).to_be_visible()
        expect(page.locator("#results .result-gone")).to_have_count(1)
    finally:
        api.delete("/api/v1/collections/seen")


def test_the_viewer_never_asks_for_a_gone_original(page, vanished):
    """Its details say the original is gone: opening it, stepping away and back ask for no picture that fails."""
    failed = []
    page.on("response", lambda response: failed.append(response.url) if response.status >= 400 else None)
    page.goto(f"/search?collection={vanished}")
    page.get_by_role("button", name="View v1.jpg (original gone)").click()
    expect(page.locator("#detail-gone")).to_be_visible()
    away, back = ("ArrowLeft", "ArrowRight") if page.locator("#detail-position").inner_text().startswith("3") \
        else ("ArrowRight", "ArrowLeft")
    page.keyboard.press(away)
    expect(page.locator("#detail-image")).to_be_visible()
    page.keyboard.press(back)
    expect(page.locator("#detail-title")).to_have_text("v1.jpg")
    expect(page.locator("#detail-gone")).to_be_visible()
    expect(page.locator("#detail-image")).to_be_hidden()
    assert [url for url in failed if "/view" in url] == []


def test_photos_of_a_followed_folder_that_is_offline_wait_for_it(page, api, photos):
    """An unmounted drive: its tiles say "Folder offline", and the viewer offers no removal, only why."""
    drive = photos / "drive"
    drive.mkdir()
    for i in range(2):
        (drive / f"d{i}.jpg").write_bytes(distinct_image(80 + i))
    assert api.post("/api/v1/collections", json={"name": "offline"}).status_code == 201
    added = api.post("/api/v1/collections/offline/sources", json={"path": str(drive), "watch": False})
    assert wait_for_job(api, added.json()["job_id"])["counts"]["done"] == 2
    drive.rename(photos / "drive-unplugged")
    try:
        page.goto("/search?collection=offline")
        tile = page.get_by_role("button", name="View d0.jpg (folder offline)")
        expect(tile.locator(".result-gone")).to_have_text("Folder offline")
        tile.click()
        expect(page.locator("#detail-gone-title")).to_have_text("Folder offline")
        expect(page.locator("#detail-gone-why")).to_have_text(
            f"Its folder {drive} is offline (a drive not mounted?). The photo stays in the index until the folder "
            "is back.")
        expect(page.locator("#detail-gone-remove")).to_be_hidden()
        expect(page.locator("#detail-gone-advice")).to_be_hidden()
    finally:
        (photos / "drive-unplugged").rename(drive)
        for source in api.get("/api/v1/collections/offline/sources").json()["sources"]:
            api.delete(f"/api/v1/collections/offline/sources/{source['source_id']}")
        api.delete("/api/v1/collections/offline")
