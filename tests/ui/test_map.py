"""Collections from collections in Chromium: merging one collection into another from the Collections page
(followed to its outcome, its counts those of the moment), and "Surprise me" on the review pages."""

from __future__ import annotations

import itertools
import math
import re

import httpx
import pytest
from playwright.sync_api import expect

from tests.helpers import wait_for_job
from tests.samples import distinct_image
from tests.ui.helpers import uploaded_collection

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


def test_the_merge_dialog_counts_what_the_collections_hold_now_not_when_the_page_loaded(serve, open_page):
    service = serve()
    with httpx.Client(base_url=service.url, timeout=60) as client:
        for name, seeds in (("a", range(200, 202)), ("b", range(300, 301))):
            uploaded_collection(client, name, photo_files(name, seeds))
        page = open_page(service.url)
        page.goto("/collections")
        expect(page.locator('tr[data-collection="a"] td[data-label="Images"]')).to_have_text("2")
        for name, seeds in (("a", range(202, 205)), ("b", range(301, 302))):  # ingested since: a 5, b 2
            job = client.post("/api/v1/ingest/upload", data={"collection": name}, files=photo_files(name, seeds))
            assert wait_for_job(client, job.json()["job_id"])["state"] == "completed"

    page.get_by_role("button", name="Merge collection a into another").click()
    dialog = page.locator("#merge-dialog")
    expect(dialog.locator("[data-count]")).to_have_text("5 images")
    expect(dialog.locator("#merge-into option:not([hidden])")).to_have_text(["b (2)"])
    expect(page.locator('tr[data-collection="a"] td[data-label="Images"]')).to_have_text("5")  # the table follows


def photo_files(name: str, seeds: range) -> list:
    return [("files", (f"{name}{i}.jpg", distinct_image(i), "image/jpeg")) for i in seeds]


@pytest.mark.parametrize("here", ["map", "duplicates"])
def test_surprise_me_does_what_it_does_on_the_photos_page(two, open_page, here):
    page = open_page(two)
    page.goto(f"/collections/trip/{here}")
    page.get_by_role("button", name="Surprise me").click()
    # the photos page, a random photo of the collection open among the photos like it (tests/ui/test_search.py)
    expect(page.locator("#detail")).to_be_visible()
    name = page.locator("#detail-title").inner_text()
    assert name.endswith(".jpg"), name  # trip holds home's photos too once merged
    expect(page.locator("#results-title")).to_have_text(f"Like {name}")
    assert "/search?collection=trip&like=" in page.url and "open=" in page.url
    expect(page.locator("#surprise")).to_have_attribute("title", re.compile("^Open a random photo of this collection"))


PALETTE_IN_THE_PAGE = """async (count) => {
    const palette = await import("/static/js/palette.js");
    return Array.from({ length: count }, (_, cluster) => palette.clusterColour(cluster));
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_cluster_colours_stand_out_from_the_map_and_apart_from_each_other(page, holiday, scheme):
    page.emulate_media(color_scheme=scheme)
    page.goto("/collections/holiday/map")
    background = rgb(page.locator("#map-canvas").evaluate("canvas => getComputedStyle(canvas).backgroundColor"))
    assert (luminance(background) < 0.1) == (scheme == "dark")
    colours = [rgb(colour) for colour in page.evaluate(PALETTE_IN_THE_PAGE, 14)]
    swatches = page.locator("#map-clusters button[data-cluster]")
    expect(swatches.first).to_be_visible(timeout=60_000)  # the map is computed first
    for swatch in swatches.all():  # the page's clusters take the palette's colours
        shown = rgb(swatch.locator(".swatch").evaluate("node => getComputedStyle(node).backgroundColor"))
        assert shown == colours[int(swatch.get_attribute("data-cluster")) % 14]
    assert len(set(colours)) == 14
    assert min(contrast(colour, background) for colour in colours) >= 3  # WCAG's least for graphics
    neighbours = [delta_e(colours[i], colours[(i + 1) % 14]) for i in range(14)]  # also 14 and 15 → 0
    assert min(neighbours) >= 20, neighbours
    # any two of the first ten far apart (the golden-angle hues of before: 18.5 between clusters 1 and 6)
    assert min(delta_e(a, b) for a, b in itertools.combinations(colours[:10], 2)) >= 23


def rgb(css: str) -> tuple[float, ...]:
    """"#6929c4" or "rgb(27, 33, 41)" → (r, g, b) in 0..1."""
    if css.startswith("#"):
        return tuple(int(css[i:i + 2], 16) / 255 for i in (1, 3, 5))
    return tuple(int(part) / 255 for part in re.findall(r"\d+", css)[:3])


def linear(channel: float) -> float:
    return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4


def luminance(colour: tuple[float, ...]) -> float:
    r, g, b = (linear(c) for c in colour)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def delta_e(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """CIE76: the distance of two colours in CIELAB (D65)."""
    return math.dist(lab(a), lab(b))


def lab(colour: tuple[float, ...]) -> tuple[float, float, float]:
    r, g, b = (linear(c) for c in colour)
    x, y, z = ((0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047, 0.2126 * r + 0.7152 * g + 0.0722 * b,
               (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883)
    fx, fy, fz = (t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116 for t in (x, y, z))
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


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


def test_the_map_says_it_is_being_prepared_until_its_task_has_a_count(two, open_page):
    """Not "starting: 0 / 0": a task that does not know yet how much there is to do."""
    page = open_page(two)
    task = {"task_id": "t-1", "kind": "map", "state": "running", "stage": "starting", "done": 0, "total": 0,
            "percent": None}
    counted = {**task, "stage": "projecting", "done": 2, "total": 5, "percent": 40}
    answers = iter([task, counted])
    page.route("**/api/v1/collections/home/map", lambda route: route.fulfill(json={"state": "computing", "task": task}))
    page.route("**/api/v1/review/tasks/t-1", lambda route: route.fulfill(json=next(answers, counted)))
    page.goto("/collections/home/map")
    progress = page.locator("#map-progress")
    expect(progress.locator(".progress-text")).to_have_text("Preparing the map…")
    expect(progress.locator("progress")).not_to_have_attribute("value", re.compile(r"."))
    expect(progress.locator(".progress-text")).to_have_text("projecting: 2 / 5")
    expect(progress.locator("progress")).to_have_attribute("value", "40")
