"""The photos page without a query: the whole collection newest first, by month and by folder, a page at a time;
the viewer steps through it with the keyboard."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.helpers import wait_for_job
from tests.samples import distinct_image
from tests.ui.conftest import LIBRARY_PER_FOLDER
from tests.ui.helpers import images_loaded

pytestmark = pytest.mark.ui
TOTAL = 3 * LIBRARY_PER_FOLDER


def test_the_library_is_a_timeline_newest_first_that_loads_as_it_scrolls(page, library, shots):
    page.goto("/search?collection=library")
    expect(page.locator("#results-summary")).to_have_text(f"{TOTAL} photos, newest first")
    tiles = page.locator("#results button.result-button")
    expect(tiles).to_have_count(100)
    expect(page.locator("#results .result-name").first).to_have_text(f"p{TOTAL - 1:03d}.png")
    expect(page.locator("#results .file-date").first).to_have_text("file date")
    # photo 239 is dated 2022-01-01 + 717 days = 2023-12-19: the first month heading is December 2023
    expect(page.locator("#results .group-heading").first).to_have_text("December 2023")
    images_loaded(page, "#results .group:first-child img")
    page.screenshot(path=shots / "browse.png")

    page.locator("#results-end").scroll_into_view_if_needed()
    expect(tiles).to_have_count(200)
    page.locator("#results-end").scroll_into_view_if_needed()
    expect(tiles).to_have_count(TOTAL)
    expect(page.get_by_role("button", name="Load more")).to_be_hidden()
    names = page.locator("#results .result-name").all_text_contents()
    assert names == [f"p{i:03d}.{'png' if i >= 160 else 'jpg'}" for i in range(TOTAL - 1, -1, -1)]



def test_the_jump_menu_lists_every_month_and_a_jump_lists_from_there_back(page, library):
    page.goto("/search?collection=library")
    expect(page.locator("#results button.result-button")).to_have_count(100)  # the first page: back to 2023-03
    months = page.locator("#jump option")
    expect(months).to_have_count(1 + 24)  # "Newest", then every month of 2022 and 2023, loaded or not
    assert months.all_text_contents()[:3] == ["Newest", "December 2023 (7)", "November 2023 (10)"]
    expect(page.locator("#jump optgroup").first).to_have_attribute("label", "2023 (118)")
    page.select_option("#jump", label="March 2022 (10)")
    # photos 20-29 are dated in March 2022: the listing starts with the newest of them and goes on to older ones
    expect(page.locator("#results-summary")).to_have_text("30 photos, newest first from March 2022 back")
    expect(page.locator("#results .group-heading").first).to_have_text("March 2022")
    expect(page.locator("#results .result-name").first).to_have_text("p029.jpg")
    expect(page.locator("#results button.result-button")).to_have_count(30)
    assert "from=2022-03" in page.url
    page.reload()
    expect(page.locator("#results-summary")).to_have_text("30 photos, newest first from March 2022 back")
    expect(page.locator("#jump")).to_have_value("2022-03")
    page.get_by_role("button", name="Remove From March 2022 back").click()
    expect(page.locator("#results-summary")).to_have_text(f"{TOTAL} photos, newest first")
    assert "from=" not in page.url


def test_the_folder_tree_browses_a_folder_and_the_address_keeps_it(page, library):
    page.goto("/search?collection=library")
    tree = page.locator("#folders")
    expect(tree.get_by_role("button", name=re.compile(r"^All folders"))).to_contain_text(str(TOTAL))
    tree.get_by_role("button", name=re.compile(r"^alps")).click()
    expect(page.locator("#results-summary")).to_have_text(f"{LIBRARY_PER_FOLDER} photos, newest first")
    assert "folder=" in page.url and page.url.endswith("alps")
    expect(page.locator("#chips")).to_contain_text("Folder: alps")
    expect(page.locator("#jump option")).to_have_count(1 + 8)  # its photos 0-79: January to August 2022
    page.reload()
    expect(page.locator("#results-summary")).to_have_text(f"{LIBRARY_PER_FOLDER} photos, newest first")
    expect(tree.get_by_role("button", name=re.compile(r"^alps"))).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#results .result-name").first).to_have_text(f"p{LIBRARY_PER_FOLDER - 1:03d}.jpg")
    page.get_by_role("button", name="Remove Folder: alps").click()
    expect(page.locator("#results-summary")).to_have_text(f"{TOTAL} photos, newest first")


def test_uploaded_photos_are_one_folder_of_the_tree_beside_the_scanned_ones(page, api, photos):
    """The walk-through's one upload: the tree showed `data › uploads › 2223e25e…` (a job id), the library a
    level down."""
    for folder, seeds in (("a", (700, 701)), ("b", (702,))):
        (photos / "mixed" / folder).mkdir(parents=True)
        for seed in seeds:
            (photos / "mixed" / folder / f"m{seed}.jpg").write_bytes(distinct_image(seed))
    assert api.post("/api/v1/collections", json={"name": "mixed"}).status_code == 201
    scan = api.post("/api/v1/ingest/scan", json={"collection": "mixed", "directory_path": str(photos / "mixed")})
    assert wait_for_job(api, scan.json()["job_id"])["state"] == "completed"
    files = [("files", (f"sent{i}.jpg", distinct_image(710 + i), "image/jpeg")) for i in range(2)]
    upload = api.post("/api/v1/ingest/upload", data={"collection": "mixed"}, files=files)
    assert wait_for_job(api, upload.json()["job_id"])["state"] == "completed"

    page.goto("/search?collection=mixed")
    tree = page.locator("#folders")
    expect(tree.locator(".folder-name")).to_have_text(["All folders", "a", "b", "Uploaded"])
    expect(tree.locator(".count")).to_have_text(["5", "2", "1", "2"])
    tree.get_by_role("button", name=re.compile(r"^Uploaded")).click()
    expect(page.locator("#results .result-name")).to_have_count(2)
    assert sorted(page.locator("#results .result-name").all_text_contents()) == ["sent0.jpg", "sent1.jpg"]
    expect(page.locator("#chips")).to_contain_text("Folder: Uploaded")
    api.delete("/api/v1/collections/mixed")


def test_a_filter_without_a_query_lists_what_it_keeps(page, library):
    page.goto("/search?collection=library")
    page.locator("#filters summary").click()
    page.select_option("#format", "png")
    expect(page.locator("#results-summary")).to_have_text(f"{LIBRARY_PER_FOLDER} photos, newest first")
    assert "format=png" in page.url
    expect(page.locator("#format option:checked")).to_have_text(f"PNG ({LIBRARY_PER_FOLDER})")  # as people write it
    expect(page.locator("#chips")).to_contain_text("Format: PNG")
    expect(page.locator("#results .result-name").first).to_have_text(f"p{TOTAL - 1:03d}.png")
    # these photos have no date of their own: the date filters say which date they go by
    expect(page.locator("#results .file-date").first).to_be_visible()
    expect(page.locator("#filters-hint")).to_contain_text("a photo without a date of its own counts by its file's date")
    expect(page.locator("#taken_after")).to_have_attribute("title", re.compile(r"file's date"))
    page.fill("#taken_after", "2024-01-01")
    page.fill("#taken_before", "2023-01-01")
    page.locator("#taken_before").dispatch_event("change")
    expect(page.locator("[data-error-for='filters']")).to_have_text(
        "“Taken on or after” (2024-01-01) is later than “Taken on or before” (2023-01-01), so no photo can match. "
        "Change one of the two dates.")


@pytest.mark.parametrize("date", ["June", "2023-02-30"])
def test_a_date_filter_that_is_no_date_says_how_a_date_is_written(page, library, date):
    page.goto(f"/search?collection=library&after={date}")  # a hand-made or an old address
    expect(page.locator("[data-error-for='filters.taken_after']")).to_have_text(
        f"“{date}” is not a date. Enter a date as year-month-day, for example 2023-06-30.")
    expect(page.locator("#taken_after")).to_be_focused()  # the filters unfolded, at the field to correct
    page.get_by_role("button", name=f"Remove From: {date}").click()
    expect(page.locator("#results-summary")).to_have_text(f"{TOTAL} photos, newest first")
    expect(page.locator("[data-error-for='filters.taken_after']")).to_be_hidden()


def test_the_viewer_steps_through_with_the_keyboard(page, library, shots):
    page.goto("/search?collection=library")
    tiles = page.locator("#results button.result-button")
    expect(tiles).to_have_count(100)
    tiles.first.click()
    viewer = page.locator("#detail")
    expect(viewer).to_be_visible()
    title = page.locator("#detail-title")
    expect(title).to_have_text(f"p{TOTAL - 1:03d}.png")
    expect(page.locator("#detail-position")).to_have_text("1 of 100")
    images_loaded(page, "#detail-image")
    expect(page.locator("#detail-facts")).to_contain_text("the photo has no date of its own")
    expect(page.locator("#detail-technical")).to_be_hidden()  # folded away
    page.keyboard.press("ArrowRight")
    expect(title).to_have_text(f"p{TOTAL - 2:03d}.png")
    page.keyboard.press("ArrowRight")
    expect(title).to_have_text(f"p{TOTAL - 3:03d}.png")
    page.keyboard.press("ArrowLeft")
    expect(title).to_have_text(f"p{TOTAL - 2:03d}.png")
    page.reload()  # the address names the photo on screen: a reload (or a shared link) shows it again
    expect(viewer).to_be_visible()
    expect(title).to_have_text(f"p{TOTAL - 2:03d}.png")
    expect(page.locator("#detail-position")).to_have_text("2 of 100")
    page.keyboard.press("+")
    expect(page.locator("#viewer-stage")).to_have_attribute("data-zoom", "scaled")
    page.keyboard.press("0")
    expect(page.locator("#viewer-stage")).to_have_attribute("data-zoom", "fit")
    page.get_by_text("Technical details").click()
    expect(page.locator("#detail-technical")).to_contain_text("SHA-256")
    page.screenshot(path=shots / "viewer.png")
    page.keyboard.press("Escape")
    expect(viewer).to_be_hidden()
    expect(page).not_to_have_url(re.compile(r"open="))  # the dialog's close event, a task after it hides

    # At the end of what is loaded, → loads the next page.
    tiles.nth(99).click()
    expect(title).to_have_text(f"p{TOTAL - 100:03d}.jpg")
    page.keyboard.press("ArrowRight")
    expect(title).to_have_text(f"p{TOTAL - 101:03d}.jpg")
    expect(page.locator("#detail-position")).to_have_text(re.compile(r"^101 of (200|240)$"))
