"""The ingest page: the server-side folder browser starts a scan; files dropped on the page are uploaded."""

from __future__ import annotations

import base64

import pytest
from playwright.sync_api import expect

from tests.helpers import wait_for_job
from tests.samples import distinct_image
from tests.ui.helpers import IMAGES, PHONE, no_horizontal_scroll

pytestmark = pytest.mark.ui

# A DataTransfer holding the given files ({name, b64}), as a drop from the desktop carries them.
DATA_TRANSFER = """(files) => {
    const transfer = new DataTransfer();
    for (const f of files) {
        const bytes = Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0));
        transfer.items.add(new File([bytes], f.name, { type: "image/png" }));
    }
    return transfer;
}"""


def test_folder_browser_starts_a_scan(page, api, photos, shots):
    assert api.post("/api/v1/collections", json={"name": "browsed"}).status_code == 201
    holiday = photos / "holiday"
    page.goto("/ingest?collection=browsed")
    expect(page.locator("#ingest-collection")).to_have_value("browsed")
    page.locator(f'#folder-list button[data-path="{photos}"]').click()
    expect(page.locator("#browse-where")).to_have_text(str(photos))
    expect(page.locator("#browse-up")).to_be_enabled()
    page.get_by_role("button", name="holiday", exact=True).click()  # not "…summerholidays" (sources)
    expect(page.locator("#browse-where")).to_have_text(str(holiday))
    expect(page.locator("#directory_path")).to_have_value(str(holiday))
    expect(page.locator("#browse-count")).to_have_text(f"{IMAGES + 2} image files directly in this folder.")
    expect(page.locator("#folder-list")).to_have_text("No sub-folders.")
    page.screenshot(path=shots / "ingest.png")

    page.get_by_role("button", name="Ingest this folder").click()
    page.wait_for_url("**/jobs/*")
    job_id = page.url.rsplit("/", 1)[1]
    job = api.get(f"/api/v1/jobs/{job_id}").json()
    assert (job["collection"], job["kind"], job["source"]) == ("browsed", "scan", str(holiday))
    api.post(f"/api/v1/jobs/{job_id}/cancel")  # the job page's own tests follow whole jobs
    assert wait_for_job(api, job_id)["is_terminal"] is True


def test_scan_needs_a_folder(page, holiday):
    page.goto("/ingest?collection=holiday")
    page.get_by_role("button", name="Ingest this folder").click()
    expect(page.locator("#directory_path-error")).to_have_text("Choose a folder in the browser or type its path.")
    expect(page.locator("#directory_path")).to_have_attribute("aria-invalid", "true")


def test_drop_upload_at_phone_width(api, ingest, open_page):
    assert api.post("/api/v1/collections", json={"name": "dropped"}).status_code == 201
    page = open_page(ingest.url, viewport=PHONE)
    page.goto("/ingest?collection=dropped")
    no_horizontal_scroll(page)
    files = [{"name": f"drop{i}.png", "b64": base64.b64encode(distinct_image(i, fmt="PNG")).decode()}
             for i in range(6)]
    page.dispatch_event("#dropzone", "drop", {"dataTransfer": page.evaluate_handle(DATA_TRANSFER, files)})
    expect(page.locator("#file-summary")).to_contain_text("6 files")
    page.get_by_role("button", name="Upload and ingest").click()
    page.wait_for_url("**/jobs/*")
    expect(page.locator("#job-state")).to_have_text("completed", timeout=30_000)
    expect(page.locator("#job-progress-text")).to_have_text("100 %")
    expect(page.locator('[data-count="done"]')).to_have_text("6")
    no_horizontal_scroll(page)


def test_the_page_says_an_ingest_is_one_shot_and_links_the_collections_sources(page, api, holiday, shots):
    assert api.post("/api/v1/collections", json={"name": "single"}).status_code == 201
    answer = api.post("/api/v1/ingest/upload", data={"collection": "single"},
                      files=[("files", ("one.png", distinct_image(1, fmt="PNG"), "image/png"))])
    assert wait_for_job(api, answer.json()["job_id"])["state"] == "completed"
    page.goto("/ingest?collection=single")
    expect(page.locator("#one-shot")).to_contain_text("An ingest is one-shot")
    # copies follow their originals by path (ingest/review/copies.py): a one-shot ingest's too
    expect(page.locator("#one-shot")).to_contain_text("Photos under a folder that a source follows (in any "
                                                      "collection) do follow its syncs here too")
    link = page.locator("#one-shot").get_by_role("link", name="Sources")
    expect(link).to_have_attribute("href", "/collections/single/sources")
    expect(page.locator('#ingest-collection option[value="single"]')).to_have_text("single (1 image)")
    page.screenshot(path=shots / "ingest-one-shot.png")
    page.select_option("#ingest-collection", "holiday")
    expect(link).to_have_attribute("href", "/collections/holiday/sources")
    link.click()
    expect(page.get_by_role("heading", name="Sources of holiday")).to_be_visible()
    api.delete("/api/v1/collections/single")
