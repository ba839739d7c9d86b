"""Collections from collections in Chromium: merging one collection into another from the Collections page
(followed to its outcome), and "Surprise me" on the map page."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from tests.helpers import wait_for_job
from tests.samples import distinct_image

pytestmark = pytest.mark.ui


@pytest.fixture(scope="module")
def two(serve) -> str:
    """A service with 'home' (5 photos) and 'trip' (2 other photos)."""
    service = serve()
    with httpx.Client(base_url=service.url, timeout=60) as client:
        for name, seeds in (("home", range(5)), ("trip", range(100, 102))):
            assert client.post("/api/v1/collections", json={"name": name}).status_code == 201
            files = [("files", (f"{name}{i}.jpg", distinct_image(i), "image/jpeg")) for i in seeds]
            job = wait_for_job(client, client.post("/api/v1/ingest/upload", data={"collection": name},
                                                   files=files).json()["job_id"])
            assert job["state"] == "completed", job
    return service.url


def test_a_collection_is_merged_into_another_and_the_outcome_shown(two, open_page):
    page = open_page(two)
    page.goto("/collections")
    page.get_by_role("button", name="Merge collection home into another").click()
    dialog = page.locator("#merge-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#merge-into option:not([hidden])")).to_have_text(["trip (2)"])  # never itself
    dialog.get_by_role("button", name="Merge").click()
    expect(dialog.locator("#merge-status")).to_have_text("Merged 5 images of home into trip: 5 new, 0 already there; it now holds 7.")
    dialog.get_by_role("button", name="Close").click()
    expect(page.locator('tr[data-collection="trip"] td[data-label="Images"]')).to_have_text("7")
    expect(page.locator('tr[data-collection="home"] td[data-label="Images"]')).to_have_text("5")


def test_surprise_me_shows_a_photo_of_the_collection(two, open_page):
    page = open_page(two)
    page.goto("/collections/trip/map")
    page.get_by_role("button", name="Surprise me").click()
    image = page.locator("#surprise-image")
    expect(image).to_be_visible()
    page.wait_for_function("() => document.querySelector('#surprise-image').naturalWidth > 0")
    expect(page.locator("#surprise-path")).to_contain_text("/")


@pytest.mark.parametrize("here, label", [("map", "Map"), ("duplicates", "Duplicates"), ("sources", "Sources")])
def test_a_collections_pages_link_to_each_other_but_not_to_themselves(two, open_page, here, label):
    page = open_page(two)
    page.goto(f"/collections/trip/{here}")
    links = {"All collections": "/collections", "Photos": "/search?collection=trip",
             "Sources": "/collections/trip/sources", "Duplicates": "/collections/trip/duplicates",
             "Map": "/collections/trip/map"}
    nav = page.locator("main [aria-current=page]").locator("..")
    expect(nav.locator("[aria-current=page]")).to_have_text(label)
    for name, href in links.items():
        if name != label:
            expect(nav.get_by_role("link", name=name, exact=True)).to_have_attribute("href", href)
    expect(nav.get_by_role("link", name=label, exact=True)).to_have_count(0)
