"""The sources page in Chromium: add a folder (its first sync shows live, linked to its job), sync now (the
broken file that failed is left out: "completed", and the row names it with a link to the job whose errors say
why), edit, remove with its images; a refused folder is shown next to its field."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.helpers import wait_for_job
from tests.samples import distinct_image
from tests.ui.helpers import IMAGES, WORDS_BROKEN

pytestmark = pytest.mark.ui


@pytest.fixture()
def followed(api) -> Iterator[str]:
    assert api.post("/api/v1/collections", json={"name": "followed"}).status_code == 201
    yield "followed"
    for source in api.get("/api/v1/collections/followed/sources").json()["sources"]:
        api.delete(f"/api/v1/collections/followed/sources/{source['source_id']}")
    api.delete("/api/v1/collections/followed")


def test_add_sync_edit_and_remove_a_folder(page, api, photos, followed):
    page.goto(f"/collections/{followed}/sources")
    expect(page.locator("#no-sources")).to_be_visible()
    form = page.locator("#add-source")
    expect(form.get_by_label("Folder on the server")).to_have_attribute("placeholder", f"e.g. {photos}/2024")
    form.get_by_label("Folder on the server").fill(str(photos / "holiday"))
    form.get_by_label("Watch for changes").uncheck()
    form.get_by_role("button", name="Add folder").click()

    row = page.locator("tr[data-source]")
    expect(row).to_have_count(1)
    expect(row.locator('[data-field="state"]')).to_have_text("idle", timeout=60_000)
    expect(row.locator("th code")).to_have_text(str(photos / "holiday"))
    expect(row.locator('[data-field="last-sync"]')).to_have_text(
        f"completed with errors: {IMAGES + 1} embedded, 1 failed", timeout=60_000)
    expect(row.locator('[data-field="images"]')).to_have_text(str(IMAGES + 1))
    first_job = api.get(f"/api/v1/collections/{followed}/sources").json()["sources"][0]["last_sync"]["job_id"]
    unreadable = row.get_by_role("link", name="1 file cannot be read: broken.jpg")
    expect(unreadable).to_have_attribute("href", f"/jobs/{first_job}")

    row.get_by_role("button", name="Sync").click()
    expect(row.locator('[data-field="last-sync"]')).to_have_text(f"completed: {IMAGES + 2} unchanged", timeout=60_000)
    synced = api.get(f"/api/v1/collections/{followed}/sources").json()["sources"][0]["last_sync"]["job_id"]
    expect(row.get_by_role("link", name=f"completed: {IMAGES + 2} unchanged")).to_have_attribute(
        "href", f"/jobs/{synced}")
    unreadable.click()
    expect(page).to_have_url(f"/jobs/{first_job}")
    expect(page.get_by_text("broken.jpg").first).to_be_visible()
    page.go_back()

    first = api.post("/api/v1/search", json={"collection": followed, "limit": 1}).json()["results"][0]["id"]
    assert api.delete(f"/api/v1/collections/{followed}/points/{first}").status_code == 204
    source_id = row.get_attribute("data-source")
    sync = api.post(f"/api/v1/collections/{followed}/sources/{source_id}/sync").json()
    assert wait_for_job(api, sync["job_id"])["counts"]["done"] == 0  # a removal is remembered: it stays out
    page.reload()
    expect(row.locator('[data-field="images"]')).to_have_text(str(IMAGES))
    expect(row).to_contain_text("1 removed by you")
    row.get_by_role("button", name="Bring back").click()  # asks first, naming how many come back
    forget = page.locator("#forget-dialog")
    expect(forget.get_by_role("heading")).to_have_text("Bring back 1 removed photo?")
    forget.get_by_role("button", name="Cancel").click()
    expect(forget).to_be_hidden()
    assert api.get(f"/api/v1/collections/{followed}/sources").json()["sources"][0]["removed_by_user"] == 1
    row.get_by_role("button", name="Bring back").click()
    forget.get_by_role("button", name="Bring back").click()
    expect(row.locator('[data-field="images"]')).to_have_text(str(IMAGES + 1), timeout=60_000)
    expect(row).not_to_contain_text("removed by you")

    row.get_by_role("button", name="Edit").click()
    edit = page.locator("#edit-source")
    edit.get_by_label("Full re-scan every (minutes, 0: never)").fill("0")
    edit.get_by_label("Leave out (one pattern a line)").fill("camera.*")
    edit.get_by_role("button", name="Save").click()
    expect(row.locator('[data-field="images"]')).to_have_text(str(IMAGES), timeout=60_000)
    source = api.get(f"/api/v1/collections/{followed}/sources").json()["sources"][0]
    assert (source["rescan_minutes"], source["exclude"]) == (0, ["camera.*"])

    row.get_by_role("button", name="Remove").click()
    page.get_by_label("Also remove its images from the index").check()
    page.locator("#remove-dialog").get_by_role("button", name="Remove").click()
    expect(page.locator("#no-sources")).to_be_visible()
    assert api.get(f"/api/v1/collections/{followed}").json()["points_count"] == 0


def test_a_folder_outside_the_roots_is_refused_beside_its_field(page, followed):
    page.goto(f"/collections/{followed}/sources")
    page.get_by_label("Folder on the server").fill("/etc")
    page.get_by_role("button", name="Add folder").click()
    expect(page.locator('[data-error-for="path"]')).to_contain_text("outside the ingest roots")


def test_a_row_names_two_unreadable_files_and_counts_the_rest_as_the_cli_does(page, api, photos, followed):
    folder = photos / "fourunreadablefilesbesideonegoodphotoofthelastsummerholidays"  # a long name, no "-"
    folder.mkdir()
    (folder / "good.jpg").write_bytes(distinct_image(7))
    for name in ("a.jpg", "b.heic", "c.jpg", "d.png"):
        (folder / name).write_bytes(b"not a picture\n" * 20)
    added = api.post(f"/api/v1/collections/{followed}/sources", json={"path": str(folder), "watch": False})
    assert added.status_code == 201, added.text
    assert wait_for_job(api, added.json()["job_id"])["counts"]["failed"] == 4
    page.goto(f"/collections/{followed}/sources")
    row = page.locator("tr[data-source]")
    # what the page's poll writes (sources.js), as `sightline sources list` says it
    expect(row.get_by_role("link", name="4 files cannot be read: a.jpg, b.heic and 2 more", exact=True)) \
        .to_be_visible()
    assert row.locator("th code").evaluate(WORDS_BROKEN) == []  # the row is full: the path wraps between names


def test_a_lost_server_is_said_until_it_answers_again(page, api, photos, followed):
    folder = photos / "one-photo"
    folder.mkdir(exist_ok=True)
    (folder / "one.jpg").write_bytes(distinct_image(3))
    added = api.post(f"/api/v1/collections/{followed}/sources", json={"path": str(folder), "watch": False})
    wait_for_job(api, added.json()["job_id"])
    page.goto(f"/collections/{followed}/sources")
    live = page.locator("#live-status")
    expect(live).to_have_text("")

    page.context.set_offline(True)  # the page's poll of the states fails
    expect(live).to_have_text("Connection lost; reconnecting…")
    page.context.set_offline(False)
    expect(live).to_have_text("")
