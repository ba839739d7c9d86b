"""The photos page searching: by text, by image, "more like this", filters from the facets, the address that
describes the search, the viewer's details."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Route, expect

from tests.samples import camera_like_jpeg, distinct_image
from tests.ui.helpers import IMAGES, PHONE, images_loaded, no_horizontal_scroll, uploaded_collection

pytestmark = pytest.mark.ui


def test_text_search_shows_matches_and_the_address_keeps_it(page, holiday, shots):
    page.goto("/search?collection=holiday")
    expect(page.locator("#tiny-warning")).to_be_visible()
    page.fill("#search-text", "a red square on a blue background")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#results-title")).to_have_text("“a red square on a blue background”")
    expect(page.locator("#results-summary")).to_contain_text(re.compile(r"strong match|No strong match"))
    images_loaded(page, "#results .group:first-child li:nth-child(-n+4) img")
    expect(page.locator("#results .score").first).to_have_text(re.compile(r"^-?\d\.\d{2}$"))
    assert "q=a+red+square" in page.url
    page.screenshot(path=shots / "search.png")
    shown = page.locator("#results .result-name").all_text_contents()
    assert 0 < len(shown) <= 30

    page.reload()  # the address describes the search: the same results again
    expect(page.locator("#search-text")).to_have_value("a red square on a blue background")
    expect(page.locator("#results .result-name")).to_have_count(len(shown))
    assert page.locator("#results .result-name").all_text_contents() == shown
    # Past the strong matches, more comes on demand only.
    expect(page.locator("#results .weak-heading")).to_be_visible()
    page.get_by_role("button", name="Load more").click()
    expect(page.locator("#results .result-name")).to_have_count(IMAGES + 1)  # every image of holiday that decoded
    expect(page.get_by_role("button", name="Load more")).to_be_hidden()


def answers_strong_from(page, strong_from: float) -> None:
    """The search API's answers, with the similarity from which a hit is strong (`strong_from`) set: what a card
    says depends on which side of it a hit found by its name falls."""
    def answer(route: Route) -> None:
        response = route.fetch()
        route.fulfill(response=response, json={**response.json(), "strong_from": strong_from})

    page.route("**/api/v1/search", answer)


def test_strong_matches_filling_the_page_say_the_next_page_may_hold_more(page, holiday):
    """The walk-through's "30 strong matches" when 73 were: only the loaded page had been counted."""
    def all_strong(route: Route) -> None:
        response = route.fetch()
        body = response.json()
        results = [{**hit, "weak": False} for hit in body["results"]]
        route.fulfill(response=response, json={**body, "results": results})

    page.route("**/api/v1/search", all_strong)
    page.set_viewport_size({"width": 1280, "height": 500})  # the end of the first page far out of view: no autoload
    page.goto("/search?collection=holiday&q=camera")
    expect(page.locator("#results-summary")).to_have_text("30+ strong matches")
    page.get_by_role("button", name="Load more").click()
    expect(page.locator("#results-summary")).to_have_text(f"{IMAGES + 1} strong matches")  # the last page


def test_a_photo_found_by_its_file_name_says_so_instead_of_a_similarity(page, holiday):
    answers_strong_from(page, 2.0)  # its similarity alone would make it no strong match: its name did
    page.goto("/search?collection=holiday&q=camera")
    tile = page.locator('#results .result-button[data-name="camera.jpg"]')
    expect(tile.locator(".score")).to_have_text("file name")
    expect(tile.locator(".score")).to_have_attribute("title", re.compile(r"^Matched by its file name; similarity"))
    # the tooltip's words for keyboard, touch and screen-reader users too
    expect(tile).to_have_accessible_description(re.compile(r"^Matched by its file name; similarity -?\d\.\d\d$"))


def test_a_photo_strong_by_its_similarity_shows_it_with_its_name_match_beside_it(page, holiday, shots):
    """The walk-through's `a dog`: the best photo (0.58) said "file name" beside its copies' 0.57."""
    answers_strong_from(page, -2.0)
    page.goto("/search?collection=holiday&q=camera")
    tile = page.locator('#results .result-button[data-name="camera.jpg"]')
    expect(tile.locator(".score")).to_have_text(re.compile(r"^-?\d\.\d\d · name$"))
    expect(tile).to_have_accessible_description(
        re.compile(r"^Similarity -?\d\.\d\d; also matched by its file name$"))
    expect(tile).to_have_accessible_name("View camera.jpg")
    tile.screenshot(path=shots / "search-similarity-and-name.png")


def test_image_search_detail_and_more_like_this(page, holiday, photos):
    page.goto("/search?collection=holiday")
    page.set_input_files("#search-image", files=[
        {"name": "query.jpg", "mimeType": "image/jpeg", "buffer": distinct_image(7)}])
    expect(page.locator("#query-name")).to_have_text("query.jpg")
    expect(page.locator("#results-title")).to_have_text("Like query.jpg")
    images_loaded(page, "#results .group:first-child li:nth-child(-n+4) img")
    expect(page.locator("#results .result-name").first).to_have_text("img007.jpg")
    page.reload()  # the query image is kept for this tab: the reload searches by it again
    expect(page.locator("#results-title")).to_have_text("Like query.jpg")
    expect(page.locator("#results .result-name").first).to_have_text("img007.jpg")

    page.locator("#results button.result-button").first.click()
    dialog = page.locator("#detail")
    expect(dialog).to_be_visible()
    expect(page.locator("#detail-title")).to_have_text("img007.jpg")
    images_loaded(page, "#detail-image")
    expect(page.locator("#detail-facts")).to_contain_text(str(photos / "holiday"))
    expect(page.locator("#detail-technical")).to_contain_text("Embedding model", use_inner_text=False)
    original = page.locator("#detail-original").get_attribute("href")
    answer = page.request.get(original)
    assert answer.ok and answer.body() == (photos / "holiday" / "img007.jpg").read_bytes()
    page.get_by_role("button", name="More like this").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#results-title")).to_have_text("Like img007.jpg")
    assert "like=" in page.url
    images_loaded(page, "#results .group:first-child li:nth-child(-n+4) img")
    expect(page.locator("#results .result-name", has_text="img007.jpg")).to_have_count(0)
    expect(page.locator("#query-image")).to_be_hidden()  # "more like this" replaced the query image
    page.reload()  # a shared "more like this" link shows the same
    expect(page.locator("#results-title")).to_have_text("Like img007.jpg")
    page.get_by_role("button", name="Remove Like img007.jpg").click()
    expect(page.locator("#results-title")).to_have_text("All photos")


def test_filters_come_from_the_facets_and_read_as_a_photographer_would(page, holiday, shots):
    page.goto("/search?collection=holiday")
    page.locator("#filters summary").click()
    page.select_option("#camera", "Sightline Synthetic One")
    expect(page.locator("#results .result-name")).to_have_text("camera.jpg")  # a filter needs no query
    page.fill("#search-text", "anything")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#results-title")).to_have_text("“anything”")
    expect(page.locator("#results .result-name")).to_have_text("camera.jpg")
    assert "camera=Sightline+Synthetic+One" in page.url and "q=anything" in page.url

    page.locator("#results button.result-button").focus()
    page.keyboard.press("Enter")
    dialog = page.locator("#detail")
    expect(dialog).to_be_visible()
    images_loaded(page, "#detail-image")
    facts = page.locator("#detail-facts")
    for text in ("Sightline Synthetic One", "Synthetic 24-70mm f/2.8", "2023-07-14 16:20:05", "640 × 480 px"):
        expect(facts).to_contain_text(text)
    expect(facts).not_to_contain_text("SHA-256")
    page.screenshot(path=shots / "detail.png")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    page.fill("#taken_after", "2024-01-01")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#results-summary")).to_have_text("No image matches.")
    page.get_by_role("button", name="Remove Camera: Sightline Synthetic One").click()
    expect(page.locator("#chips")).to_have_text(re.compile(r"From: 2024-01-01"))


def test_an_empty_collection_says_it_is_empty(page, api):
    assert api.post("/api/v1/collections", json={"name": "empty-one"}).status_code == 201
    page.goto("/search?collection=empty-one")
    expect(page.locator("#results-summary")).to_have_text("This collection is empty: ingest photos into it.")
    api.delete("/api/v1/collections/empty-one")


def test_a_link_runs_its_query_at_phone_width(small, ingest, open_page, shots):
    page = open_page(ingest.url, viewport=PHONE)
    page.goto("/search?collection=small&q=stripes")
    images_loaded(page, "#results .group:first-child img")
    expect(page.locator("#results li")).to_have_count(6)
    no_horizontal_scroll(page)
    page.screenshot(path=shots / "mobile-search.png", full_page=True)
    page.locator("#results button.result-button").first.click()
    expect(page.locator("#detail")).to_be_visible()
    images_loaded(page, "#detail-image")
    no_horizontal_scroll(page)


def test_facts_read_from_the_query_are_chips_that_come_off(page, holiday):
    page.goto("/search?collection=holiday&q=a+photo+from+July+2023")
    chips = page.locator("#chips")
    expect(chips).to_contain_text("date: July 2023")
    expect(page.locator("#results .result-name")).to_have_text(["camera.jpg"])  # the only photo of July 2023
    page.get_by_role("button", name="Remove date: July 2023").click()
    expect(page.locator("#search-text")).to_have_value("a photo from")
    assert "July" not in page.url
    expect(chips).not_to_contain_text("July 2023")
    expect(page.locator("#results .result-name")).not_to_have_count(1)


def test_a_heic_query_image_shows_its_name_not_a_broken_picture(page, holiday):
    from tests.samples import heic_image

    page.goto("/search?collection=holiday")
    page.set_input_files("#search-image", files=[
        {"name": "phone.heic", "mimeType": "image/heic", "buffer": heic_image(size=(96, 64))}])
    expect(page.locator("#query-name")).to_have_text("phone.heic")
    expect(page.locator("#query-preview")).to_be_hidden()  # Chromium shows no HEIC: the name stands for it
    expect(page.locator("#results-title")).to_have_text("Like phone.heic")
    expect(page.locator("#results li").first).to_be_visible()


def test_a_query_image_that_fails_is_named_above_its_error_not_the_one_before(page, holiday):
    page.goto("/search?collection=holiday")
    page.set_input_files("#search-image", files=[
        {"name": "query.jpg", "mimeType": "image/jpeg", "buffer": distinct_image(7)}])
    expect(page.locator("#results-title")).to_have_text("Like query.jpg")
    page.set_input_files("#search-image", files=[
        {"name": "broken.jpg", "mimeType": "image/jpeg", "buffer": distinct_image(8)[:300]}])
    # named, but not as a search made (the walk-through's "Like notes.txt" over its error and no results)
    expect(page.locator("#results-title")).to_have_text("Search by broken.jpg failed")
    expect(page.locator("#search-image-error")).to_be_visible()
    expect(page.locator("#results li")).to_have_count(0)
    page.set_input_files("#search-image", files=[
        {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"shopping: milk, bread"}])
    expect(page.locator("#results-title")).to_have_text("Search by notes.txt failed")
    expect(page.locator("#search-image-error")).to_be_visible()
    expect(page.locator("#results-summary")).to_have_text("")


def test_a_query_of_facts_alone_lists_what_they_keep_by_month(page, holiday):
    page.goto("/search?collection=holiday&q=2023")
    expect(page.locator("#results-summary")).to_have_text("1 photo matches, newest first")
    # the chip says where a photo may meet it, to the pointer and to a screen reader
    searched = "Searched in the photo's date, or its folder and file names"
    expect(page.locator("#chips .understood span").first).to_have_attribute("title", searched)
    expect(page.locator("#chips .understood")).to_have_text(f"date: 2023 ({searched.lower()})×")
    expect(page.locator("#results .group-heading")).to_have_text(["July 2023"])  # no "weaker matches" split
    expect(page.locator("#results .result-name")).to_have_text(["camera.jpg"])
    expect(page.locator("#results .score")).to_have_count(0)  # no meaning to be similar to


@pytest.fixture()
def named_for_a_year(api) -> Iterator[str]:
    """The collection 'years': camera.jpg, taken in July 2023, and `party 2023.jpg`, uploaded today."""
    files = [("files", ("camera.jpg", camera_like_jpeg(320, 240, seed=3), "image/jpeg")),
             ("files", ("party 2023.jpg", distinct_image(3), "image/jpeg"))]
    yield uploaded_collection(api, "years", files)
    api.delete("/api/v1/collections/years")


def test_a_year_lists_the_photos_taken_then_those_named_for_it(page, named_for_a_year, shots):
    """The walk-through's `2019`: the one photo taken in 2019 came last, under the folder hits of 2026."""
    page.goto(f"/search?collection={named_for_a_year}&q=2023")
    expect(page.locator("#results .group-heading")).to_have_text(["July 2023", "Found by their folder or file names"])
    expect(page.locator("#results .result-name")).to_have_text(["camera.jpg", "party 2023.jpg"])
    named = page.locator('#results .result-button[data-name="party 2023.jpg"]')
    expect(named.locator(".score")).to_have_text("file name")
    # as shown (the name's two parts are laid out apart, and a space at their seam collapsed: "party2023.jpg")
    assert named.locator(".result-name").inner_text().replace("\n", "").replace("\u00a0", " ") == "party 2023.jpg"
    images_loaded(page, "#results img")
    page.screenshot(path=shots / "search-year-then-named.png", full_page=True)


def test_surprise_me_opens_a_random_photo_among_the_photos_like_it(page, holiday):
    page.goto("/search?collection=holiday")
    page.get_by_role("button", name="Surprise me").click()
    expect(page.locator("#detail")).to_be_visible()
    name = page.locator("#detail-title").inner_text()
    assert name.endswith(".jpg"), name
    expect(page.locator("#results-title")).to_have_text(f"Like {name}")
    assert "like=" in page.url and "open=" in page.url


def test_a_query_of_facts_alone_loads_every_photo_as_it_scrolls(page, library):
    # the library's photos are dated three days apart from 2022-01-01: p122 … p239 are the 118 of 2023
    page.goto("/search?collection=library&q=2023")
    expect(page.locator("#results-summary")).to_have_text("118 photos match, newest first")
    tiles = page.locator("#results button.result-button")
    expect(tiles).to_have_count(30)
    for shown in (60, 90, 118):
        page.locator("#results-end").scroll_into_view_if_needed()
        expect(tiles).to_have_count(shown)
    expect(page.get_by_role("button", name="Load more")).to_be_hidden()
    names = page.locator("#results .result-name").all_text_contents()
    assert names == [f"p{i:03d}.{'png' if i >= 160 else 'jpg'}" for i in range(239, 121, -1)]
    expect(page.locator("#results-summary")).to_have_text("118 photos match, newest first")


def test_a_search_among_the_photos_of_a_year_says_when_none_looks_like_it(page, holiday, api):
    # camera.jpg is holiday's one photo of 2023: a word it is not a strong match for in the whole collection
    def strong_match(word: str) -> bool:
        answer = api.post("/api/v1/search", json={"collection": "holiday", "text": word, "limit": 60}).json()
        return any(hit["payload"]["filename"] == "camera.jpg" and not hit["weak"] for hit in answer["results"])

    word = next(word for word in ("zebra", "volcano", "harbour", "tulip", "glacier", "lantern")
                if not strong_match(word))
    page.goto(f"/search?collection=holiday&q={word}+2023")
    expect(page.locator("#results-summary")).to_have_text(
        f"No 2023 photo looks like “{word}”; the closest ones follow.")
    expect(page.locator("#results .weak-heading")).to_have_text("No strong match: the closest ones")
    expect(page.locator("#results .result-name")).to_have_text(["camera.jpg"])


def test_a_link_to_a_collection_that_does_not_exist_keeps_the_servers_choice(page, holiday, api, shots):
    page.goto("/search?collection=nosuch&q=square")
    expect(page.locator("#unknown-collection")).to_have_text("Collection 'nosuch' does not exist.")
    expect(page.locator("#results-title")).to_have_text("“square”")
    expect(page.locator("#results-summary")).to_contain_text(re.compile(r"strong match|No (strong|image) match|empty"))
    chosen = page.locator("#search-collection").input_value()
    assert chosen in [info["name"] for info in api.get("/api/v1/collections").json()["collections"]]
    expect(page).to_have_url(re.compile(rf"collection={re.escape(chosen)}&q=square$"))
    expect(page.locator("#search-collection-error")).to_be_hidden()
    expect(page.locator("#search-form [data-error-for='_form']")).to_be_hidden()
    page.screenshot(path=shots / "search-unknown-collection.png")


def test_back_closes_the_viewer_over_the_same_results_then_goes_to_the_search_before(page, holiday):
    """The walk-through's `dog`: Back showed "All photos" under a viewer still open, → stepping through them."""
    page.goto("/search?collection=holiday")
    expect(page.locator("#results-summary")).to_contain_text("newest first")  # the page's script is on
    page.fill("#search-text", "dog")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#results-title")).to_have_text("“dog”")
    names = page.locator("#results .result-name")
    expect(names).to_have_count(30)
    found = names.all_text_contents()
    page.locator("#results button.result-button").first.click()
    dialog = page.locator("#detail")
    expect(page.locator("#detail-title")).to_have_text(found[0])
    page.keyboard.press("ArrowRight")
    expect(page.locator("#detail-title")).to_have_text(found[1])
    expect(page).to_have_url(re.compile(r"q=dog&open="))

    page.go_back()  # the viewer closes over the same results
    expect(dialog).to_be_hidden()
    expect(page).to_have_url(re.compile(r"q=dog$"))
    expect(page.locator("#results-title")).to_have_text("“dog”")
    expect(page.locator("#search-text")).to_have_value("dog")
    assert names.all_text_contents() == found
    page.go_back()  # then the search before
    expect(page.locator("#results-title")).to_have_text("All photos")
    expect(page.locator("#search-text")).to_have_value("")
    page.go_forward()
    expect(page.locator("#results-title")).to_have_text("“dog”")
    page.go_forward()  # the viewer again, on the photo it showed last
    expect(dialog).to_be_visible()
    expect(page.locator("#detail-title")).to_have_text(found[1])

    page.get_by_role("button", name="Close").click()  # closed on the page: its step of the history goes too
    expect(dialog).to_be_hidden()
    expect(page).to_have_url(re.compile(r"q=dog$"))
    page.go_back()
    expect(page.locator("#results-title")).to_have_text("All photos")
    expect(dialog).to_be_hidden()


def served_as_lite(page) -> None:
    """The photos page as if its collections had been built with the `lite` models (the tests run `tiny`)."""
    def lite(route: Route) -> None:
        response = route.fetch()
        route.fulfill(response=response, body=response.text().replace('data-backend="tiny"', 'data-backend="lite"'))

    page.route(re.compile(r"/search\?"), lite)


def answers_all(page, *, weak: bool) -> None:
    """The search API's answers with every hit weak (no strong match) or every hit strong."""
    def answer(route: Route) -> None:
        response = route.fetch()
        body = response.json()
        route.fulfill(response=response, json={**body, "results": [{**hit, "weak": weak} for hit in body["results"]]})

    page.route("**/api/v1/search", answer)


def test_no_strong_match_with_the_lite_models_says_what_they_know(page, holiday, shots):
    served_as_lite(page)
    answers_all(page, weak=True)
    page.goto("/search?collection=holiday&q=person")
    expect(page.locator("#results-summary")).to_have_text("No strong match; the closest photos follow.")
    limits = page.locator("#model-limits")
    expect(limits).to_be_visible()
    expect(limits).to_contain_text("everyday objects, not people, places or scenes")
    expect(limits).to_contain_text("SIGHTLINE_MODELS=clip")
    page.screenshot(path=shots / "lite-limits.png")
    page.goto("/search?collection=holiday")  # browsing: nothing to explain
    expect(page.locator("#results-summary")).to_contain_text("newest first")
    expect(limits).to_be_hidden()


def test_strong_matches_or_other_models_say_nothing_of_the_lite_models(page, holiday):
    served_as_lite(page)
    answers_all(page, weak=False)
    page.goto("/search?collection=holiday&q=person")
    expect(page.locator("#results-summary")).to_contain_text("strong matches")
    expect(page.locator("#model-limits")).to_be_hidden()
    page.unroute(re.compile(r"/search\?"))
    page.unroute("**/api/v1/search")
    answers_all(page, weak=True)
    page.goto("/search?collection=holiday&q=person")  # the tiny models: their own warning says enough
    expect(page.locator("#results-summary")).to_have_text("No strong match; the closest photos follow.")
    expect(page.locator("#model-limits")).to_be_hidden()


def test_a_search_sent_before_the_script_has_loaded_runs_when_the_page_opens(browser, page, holiday, ingest):
    """Without the script the form is a plain GET: the page it lands on reads the form's fields."""
    context = browser.new_context(base_url=ingest.url, java_script_enabled=False)
    try:
        bare = context.new_page()
        bare.goto("/search?collection=holiday")
        bare.fill("#search-text", "a red square")
        bare.press("#search-text", "Enter")
        bare.wait_for_url(re.compile(r"text=a\+red\+square"))
        sent = bare.url
    finally:
        context.close()
    page.goto(sent)
    expect(page.locator("#search-text")).to_have_value("a red square")
    expect(page.locator("#results-title")).to_have_text("“a red square”")
    expect(page.locator("#results-summary")).to_contain_text(re.compile(r"strong match|No strong match"))
    expect(page).to_have_url(re.compile(r"/search\?collection=holiday&q=a\+red\+square$"))


def test_a_long_query_is_cut_short_in_the_heading_with_all_of_it_in_its_title(page, holiday, shots):
    query = "a dog running on the beach at sunset with a red ball " * 4
    page.goto("/search?collection=holiday")
    expect(page.locator("#results-summary")).to_contain_text("newest first")  # the page's script is on
    page.fill("#search-text", query)
    page.get_by_role("button", name="Search").click()
    title = page.locator("#results-title")
    expect(title).to_have_attribute("title", f"“{query.strip()}”")
    assert title.evaluate("(node) => node.scrollWidth > node.clientWidth"), "the heading is not cut"
    assert title.evaluate("(node) => getComputedStyle(node).textOverflow") == "ellipsis"
    box, bar = title.bounding_box(), page.locator(".results-bar").bounding_box()
    assert box["x"] + box["width"] <= bar["x"] + bar["width"] + 1
    page.screenshot(path=shots / "long-query.png")


def test_a_query_typed_while_the_script_loads_is_kept_and_searched(page, holiday):
    held: list[Route] = []
    page.route(re.compile(r"/static/js/search\.js"), lambda route: held.append(route))  # the page's script
    page.goto("/search?collection=holiday", wait_until="commit")
    page.fill("#search-text", "a red square")
    page.wait_for_function("() => true")  # let the held request reach the handler
    assert held, "the script was not held back"
    held[0].continue_()
    expect(page.locator("#results-summary")).to_contain_text("newest first")  # the script is on now
    expect(page.locator("#search-text")).to_have_value("a red square")
    page.press("#search-text", "Enter")
    expect(page.locator("#results-title")).to_have_text("“a red square”")
