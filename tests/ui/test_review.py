"""The review pages in Chromium: the map draws every photo and makes a collection from a selected area; the
duplicates page shows an exact group and keeps the best copy, and near groups checked by their pictures."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Route, expect

from tests.helpers import wait_for_job
from tests.ingest.review.photo_sets import files
from tests.samples import distinct_image
from tests.ui.held_copy import HeldCopy
from tests.ui.helpers import WORDS_BROKEN, uploaded_collection

pytestmark = pytest.mark.ui
PHOTOS = 30


@pytest.fixture(scope="module")
def trip(serve) -> str:
    """A service with the collection 'trip': 30 distinct photos and one byte-identical copy of the first."""
    service = serve()
    with httpx.Client(base_url=service.url, timeout=60) as client:
        assert client.post("/api/v1/collections", json={"name": "trip"}).status_code == 201
        files = [("files", (f"p{i}.jpg", distinct_image(i), "image/jpeg")) for i in range(PHOTOS)]
        files.append(("files", ("copy-of-p0.jpg", distinct_image(0), "image/jpeg")))
        job = wait_for_job(client, client.post("/api/v1/ingest/upload", data={"collection": "trip"},
                                               files=files).json()["job_id"])
        assert job["state"] == "completed", job
    return service.url


def test_the_map_draws_every_photo_and_an_area_becomes_a_collection(trip, open_page, shots):
    page = open_page(trip)
    page.goto("/collections/trip/map")
    canvas = page.locator("#map-canvas")
    expect(canvas).to_have_attribute("data-state", "ready", timeout=120_000)
    expect(canvas).to_have_attribute("data-points", str(PHOTOS + 1))
    drawn = page.evaluate("""() => { const c = document.querySelector('#map-canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; }""")
    assert drawn > 0
    page.screenshot(path=shots / "map.png")

    page.get_by_role("button", name="Select an area").click()
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + 2, box["y"] + 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] - 2, box["y"] + box["height"] - 2, steps=5)
    page.mouse.up()
    expect(page.locator("#map-selected")).to_have_text(f"{PHOTOS + 1} photos selected.")
    page.fill("#map-new-name", "picked")
    held = HeldCopy(page)  # as a large area's copy: its progress shown until it is done
    page.get_by_role("button", name="Create collection").click()
    expect(page.locator("#map-new-status")).to_have_text("copying: 1 / 2")
    page.screenshot(path=shots / "map-copying.png")
    held.release()
    expect(page.locator("#map-new-status")).to_contain_text(f"Created picked with {PHOTOS + 1} photos.")
    expect(page.get_by_role("link", name="Its map")).to_have_attribute("href", "/collections/picked/map")
    assert httpx.get(f"{trip}/api/v1/collections/picked").json()["points_count"] == PHOTOS + 1
    frames = page.evaluate("window.sightlineMap.frames")
    assert frames and max(frames) < 200, frames


def test_zooming_keeps_the_map_point_under_the_mouse_where_it_is(trip, open_page):
    """The walk-through's map: six wheel notches over the bottom-right cluster slid it up-left out of view."""
    page = open_page(trip)
    page.goto("/collections/trip/map")
    canvas = page.locator("#map-canvas")
    expect(canvas).to_have_attribute("data-state", "ready", timeout=120_000)
    box = canvas.bounding_box()
    at = {"x": box["width"] * 0.85, "y": box["height"] * 0.8}  # canvas pixels, far from its middle
    under = page.evaluate("([x, y]) => window.sightlineMap.toMap(x, y)", [at["x"], at["y"]])
    page.mouse.move(box["x"] + at["x"], box["y"] + at["y"])
    for step in range(1, 7):
        scale = page.evaluate("window.sightlineMap.scale()")
        page.mouse.wheel(0, -120)
        page.wait_for_function("(before) => window.sightlineMap.scale() > before", arg=scale)
        shown = page.evaluate("([x, y]) => window.sightlineMap.toScreen(x, y)", [under["x"], under["y"]])
        assert abs(shown["x"] - at["x"]) < 2 and abs(shown["y"] - at["y"]) < 2, (step, shown, at)
    assert page.evaluate("window.sightlineMap.scale()") > 2


def test_the_duplicates_page_keeps_the_best_copy(trip, open_page, shots):
    page = open_page(trip)
    page.goto("/collections/trip/duplicates")
    page.select_option("#dup-kind", "exact")
    group = page.locator(".dup-group")
    expect(group).to_have_count(1)
    expect(group.locator(".dup-member")).to_have_count(2)
    names = group.locator(".dup-member dd:first-of-type").all_inner_texts()  # each member's file, by name
    assert sorted(names) == ["copy-of-p0.jpg", "p0.jpg"]
    labels = group.locator(".dup-member.best dt").all_inner_texts()
    assert labels[:4] == ["File", "Dimensions", "Format", "Size on disk"], labels  # one "Size", on disk
    values = dict(zip(labels, group.locator(".dup-member.best dd").all_inner_texts(), strict=True))
    assert values["Format"] == "JPEG", values  # as people write it, and dated as every other page dates
    # the generated photos have no date of their own: the file's, said so as the viewer says it
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", values["File date"]), values
    facts = group.locator(".dup-member dd:not(:last-of-type)")  # all but the folder: each word fits its line
    assert [fact.evaluate(WORDS_BROKEN) for fact in facts.all()] == [[]] * facts.count()
    page.screenshot(path=shots / "duplicates.png")
    before = httpx.get(f"{trip}/api/v1/collections/trip").json()["points_count"]
    best = group.locator(".dup-member.best")
    best.get_by_role("button", name=f"Keep {names[0]}, remove the other", exact=True).click()
    expect(page.locator("#dup-status")).to_have_text("All groups are done: no duplicates left.")
    assert httpx.get(f"{trip}/api/v1/collections/trip").json()["points_count"] == before - 1


def pair_uploads(client: httpx.Client, collection: str, pairs: int) -> None:
    """`collection`, new, with `pairs` photos uploaded twice each (p{i}.jpg and again-p{i}.jpg)."""
    uploaded_collection(client, collection, [("files", (f"{prefix}p{i}.jpg", distinct_image(i), "image/jpeg"))
                                             for i in range(pairs) for prefix in ("", "again-")])


def exact_pairs_page(trip: str, open_page, collection: str):
    """The Duplicates page of `collection`, new with two uploaded pairs, showing exact groups: (page, groups)."""
    with httpx.Client(base_url=trip, timeout=60) as client:
        pair_uploads(client, collection, 2)
    page = open_page(trip)
    page.goto(f"/collections/{collection}/duplicates")
    page.select_option("#dup-kind", "exact")
    groups = page.locator(".dup-group")
    expect(groups).to_have_count(2)
    return page, groups


def test_keeping_a_copy_says_what_it_removed_and_the_focus_moves_on(trip, open_page, shots):
    """By keyboard: the keep names the file that left the index and says how it comes back, and the focus goes
    to the next group's heading, which names its photos, then to the line saying every group is done."""
    page, groups = exact_pairs_page(trip, open_page, "pairs")
    first = groups.first.locator(".dup-member.best")
    removed = groups.first.locator(".dup-member:not(.best) dd").first.inner_text()
    assert re.fullmatch(r"(again-)?p\d\.jpg", removed), removed
    first.get_by_role("button", name=re.compile(r"^Keep (again-)?p\d\.jpg, remove the other$")).focus()
    page.keyboard.press("Enter")
    done = page.locator("#dup-done")
    expect(done).to_have_text(f"Removed {removed} from the index; the file stays on disk. "
                              "Photos of a followed folder come back with “Bring back” on its Sources page.")
    expect(done.get_by_role("link", name="its Sources page")).to_have_attribute("href", "/collections/pairs/sources")
    expect(groups).to_have_count(1)
    heading = groups.locator(".dup-heading")
    expect(heading).to_be_focused()
    expect(heading).to_have_text(re.compile(r"^(again-)?p\d\.jpg and 1 other$"))
    page.screenshot(path=shots / "duplicates-kept.png")
    groups.locator(".dup-member.best button").focus()
    page.keyboard.press("Enter")
    status = page.locator("#dup-status")
    expect(status).to_have_text("All groups are done: no duplicates left.")
    expect(status).to_be_focused()


def test_a_kept_group_leaves_the_page_at_once(trip, open_page):
    """The group acted on goes before the groups reload (here the reload fails): no thumbnail of a photo it
    removed can be asked for afterwards (each would be a 404 in the console)."""
    page, groups = exact_pairs_page(trip, open_page, "held")
    kept = groups.first.get_attribute("data-first")
    page.route("**/api/v1/collections/held/duplicates?*", lambda route: route.abort())
    groups.first.locator(".dup-member.best button").click()
    expect(page.locator("#dup-done")).to_contain_text("Removed ")
    expect(page.locator("#dup-status")).to_have_text("The Sightline server cannot be reached.")
    expect(groups).to_have_count(1)
    assert groups.first.get_attribute("data-first") != kept


def test_a_kept_group_is_hidden_while_its_keep_is_sent_and_comes_back_if_it_fails(trip, open_page):
    """Its lower thumbnails (lazy) are not asked for while the keep removes their photos (each would be a 404)."""
    with httpx.Client(base_url=trip, timeout=60) as client:
        pair_uploads(client, "sent", 2)
    page = open_page(trip)
    page.goto("/collections/sent/duplicates")
    expect(page.locator("#dup-status")).to_have_text("2 groups of duplicates.")  # loaded once: no re-render
    groups = page.locator(".dup-group")
    hidden_while_sent = []

    def refuse(route: Route) -> None:  # the server's answer, once the page shows what it does meanwhile
        hidden_while_sent.append(groups.first.is_hidden())
        route.fulfill(status=409, json={"error": {"code": "CONFLICT", "message": "Try again.", "where": None}})

    page.route("**/api/v1/collections/sent/duplicates/keep", refuse)
    button = groups.first.locator(".dup-member.best button")
    button.click()
    expect(page.locator("#dup-status")).to_have_text("Try again.")
    assert hidden_while_sent == [True]
    expect(groups.first).to_be_visible()
    expect(button).to_be_focused()


def test_near_duplicates_say_how_they_were_checked_and_a_group_becomes_a_collection(trip, open_page, shots):
    """A scene with a half-size re-encode, a byte-identical copy and a burst shot, and a look-alike scene:
    one near group, hash-checked, the identical copy marked; the look-alike stays out."""
    with httpx.Client(base_url=trip, timeout=60) as client:
        assert client.post("/api/v1/collections", json={"name": "burst"}).status_code == 201
        uploads = [("files", (f"{label}.jpg", data, "image/jpeg")) for label, data in files().items()]
        job = wait_for_job(client, client.post("/api/v1/ingest/upload", data={"collection": "burst"},
                                               files=uploads).json()["job_id"])
        assert job["state"] == "completed", job
    page = open_page(trip)
    page.goto("/collections/burst/duplicates")
    page.select_option("#dup-kind", "near")
    group = page.locator(".dup-group")
    expect(group).to_have_count(1)
    expect(group.locator(".dup-check")).to_contain_text("pictures compared: they match · 1 byte-identical copy")
    expect(group.locator(".dup-member")).to_have_count(4)
    alts = group.locator(".dup-member img").evaluate_all("images => images.map((image) => image.alt)")
    assert sorted(alts) == ["scene-burst.jpg", "scene-same.jpg", "scene-small.jpg", "scene.jpg"]  # no look-alike
    page.screenshot(path=shots / "duplicates-near.png", full_page=True)
    expect(group.locator(".dup-relation.exact")).to_have_text(["Same bytes as the best"])
    group.get_by_text("New collection from this group").click()
    group.get_by_label("Name of the new collection").fill("scene")
    held = HeldCopy(page)
    group.get_by_role("button", name="Create collection").click()
    expect(group.locator(".dup-new-status")).to_have_text("copying: 1 / 2")
    page.screenshot(path=shots / "duplicates-copying.png")
    held.release()
    expect(group.locator(".dup-new-status")).to_contain_text("Created scene with 4 photos.")
    group.get_by_role("link", name="Open it").click()
    expect(page).to_have_url(re.compile(r"/collections/scene/duplicates$"))


def test_an_unknown_collection_has_no_review_pages(trip):
    for page in ("map", "duplicates"):
        answer = httpx.get(f"{trip}/collections/nope/{page}")
        assert answer.status_code == 404 and "There is no collection named “nope”." in answer.text
