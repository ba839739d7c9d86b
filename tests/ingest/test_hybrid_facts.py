"""Facts in a text query are constraints, not meaning (the walk-through's "dog 2019"): the words a fact was read
from neither rank a hit nor make it a strong match; a query made only of facts is a listing, newest first."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from sightline.ingest.fact_listing import with_facts
from sightline.ingest.understand import understand
from sightline.ingest.vectors import SearchFilters
from tests.ingest.api.helpers import create, ingested, running, settings_for
from tests.samples import camera_like_jpeg

# folder/name → when it was taken: two Kyoto photos and three Oslo photos of 2019, a Kyoto photo of 2020
TAKEN = {
    "kyoto/b1.jpg": datetime(2019, 7, 1, 12), "kyoto/b2.jpg": datetime(2019, 8, 1, 12),
    "oslo/c1.jpg": datetime(2019, 3, 1, 12), "oslo/c2.jpg": datetime(2019, 4, 1, 12),
    "oslo/c3.jpg": datetime(2019, 5, 1, 12), "kyoto/b3.jpg": datetime(2020, 7, 1, 12),
}


@pytest.fixture()
async def api(ml_app, tmp_path, library) -> AsyncIterator[httpx.AsyncClient]:
    for index, (name, taken) in enumerate(TAKEN.items()):
        (library / name).parent.mkdir(parents=True, exist_ok=True)
        exif = {"make": "Canon", "model": "Canon EOS R5", "taken_at": taken}
        (library / name).write_bytes(camera_like_jpeg(160, 120, seed=index, exif=exif))
    async with running(settings_for(tmp_path, library), ml_app) as (_, client):
        await create(client)
        assert (await ingested(client, library))["counts"]["done"] == len(TAKEN)
        yield client


async def search(api: httpx.AsyncClient, text: str | None, **body) -> dict:
    query = {"text": text} if text is not None else {}
    response = await api.post("/api/v1/search", json={"collection": "photos", **query, "limit": 10, **body})
    assert response.status_code == 200, response.text
    return response.json()


def name(hit: dict) -> str:
    return Path(hit["payload"]["path"]).name


async def test_a_hit_meeting_only_the_year_is_not_a_strong_match_by_it(api):
    answer = await search(api, "kyoto 2019")
    hits = answer["results"]
    assert sorted(map(name, hits)) == ["b1.jpg", "b2.jpg", "c1.jpg", "c2.jpg", "c3.jpg"]
    assert sorted(map(name, hits[:2])) == ["b1.jpg", "b2.jpg"]  # the meaning word ("kyoto", a folder) ranks them first
    assert [hit["matched"] for hit in hits[:2]] == [["folder"], ["folder"]]
    # the Oslo photos hold "2019" (their date) but none of the meaning: not matched by words, so only their
    # similarity to "kyoto" can make them strong (before, their date made every one of them strong)
    oslo = hits[2:]
    assert [hit["matched"] for hit in oslo] == [[], [], []]
    assert [hit["weak"] for hit in oslo] == [hit["similarity"] < answer["strong_from"] for hit in oslo]
    assert [name(hit) for hit in oslo if hit["weak"]] == ["c2.jpg", "c1.jpg"]
    assert answer["only_facts"] is False


async def test_a_query_of_facts_alone_lists_what_meets_them_newest_first(api):
    answer = await search(api, "2019")
    assert [name(hit) for hit in answer["results"]] == ["b2.jpg", "b1.jpg", "c3.jpg", "c2.jpg", "c1.jpg"]
    assert answer["only_facts"] is True and answer["strong_from"] is None
    assert {(hit["weak"], hit["similarity"]) for hit in answer["results"]} == {(False, None)}
    assert [chip["kind"] for chip in answer["understood"]] == ["date"]


async def test_the_pages_of_a_facts_only_listing_do_not_overlap(api):
    first = await search(api, "canon 2019", limit=2)
    seen = [name(hit) for hit in first["results"]]
    cursor = first["next_cursor"]
    while cursor:
        page = await search(api, "canon 2019", limit=2, cursor=cursor)
        seen += [name(hit) for hit in page["results"]]
        cursor = page["next_cursor"]
    assert seen == ["b2.jpg", "b1.jpg", "c3.jpg", "c2.jpg", "c1.jpg"]


def test_the_vector_search_is_narrowed_by_the_facts_a_filter_can_say() -> None:
    cameras = ["Canon EOS R5", "Canon EOS R6", "NIKON D750"]
    narrowed = with_facts(SearchFilters(folder="/lib/a", taken_after=0.0), understand("nikon raw 2019", cameras))
    assert narrowed == SearchFilters(folder="/lib/a", camera="NIKON D750", taken_after=1546300800.0,
                                     taken_before=1577836799.0)
    # two Canon cameras (one filter names one) and two raw formats: left to the facts' own check
    assert with_facts(None, understand("canon raw", cameras)) is None


async def test_a_narrowed_search_holds_its_hits_to_the_collections_standard(api):
    """"dog 2019" with no dog among the 2019 photos: the best of them is no strong match for it."""
    whole = await search(api, "zebra")  # no photo's words hold it: similarity alone ranks
    best = whole["results"][0]
    assert best["matched"] == []
    year = "2020" if name(best) != "b3.jpg" else "2019"  # a year the collection's best match is not of
    answer = await search(api, f"zebra {year}")
    hits = answer["results"]
    assert hits and name(best) not in map(name, hits)
    assert max(hit["similarity"] for hit in hits) < best["similarity"]  # the pool's best is a lower standard
    # judged against the collection's best (before: against the best of the narrowed pool, a lower line)
    assert answer["strong_from"] == whole["strong_from"]
    assert [hit["weak"] for hit in hits] == [hit["similarity"] < answer["strong_from"] for hit in hits]
    assert answer["meaning"] == "zebra"


async def test_a_filtered_more_like_this_holds_its_hits_to_the_collections_standard(api):
    like = (await search(api, "zebra"))["results"][0]["id"]
    whole = await search(api, None, point_id=like)
    nearest_folder = whole["results"][0]["payload"]["folder"]
    other = next(hit["payload"]["folder"] for hit in whole["results"] if hit["payload"]["folder"] != nearest_folder)
    answer = await search(api, None, point_id=like, filters={"folder": other})
    assert answer["results"] and {hit["payload"]["folder"] for hit in answer["results"]} == {other}
    assert answer["strong_from"] == whole["strong_from"]


# two photos that meet "2019" only by their folder's name: one taken later, one earlier than 2019
TRIP = {"2019 trip/d1.jpg": ("Canon EOS 80D", datetime(2021, 1, 1, 12)),
        "2019 trip/d2.jpg": ("NIKON D750", datetime(2018, 6, 1, 12))}


@pytest.fixture()
async def trip_api(ml_app, tmp_path, library) -> AsyncIterator[httpx.AsyncClient]:
    photos = {name: ("Canon EOS R5", taken) for name, taken in TAKEN.items()} | TRIP
    for index, (path, (model, taken)) in enumerate(photos.items()):
        (library / path).parent.mkdir(parents=True, exist_ok=True)
        exif = {"make": model.split()[0], "model": model, "taken_at": taken}
        (library / path).write_bytes(camera_like_jpeg(160, 120, seed=index, exif=exif))
    async with running(settings_for(tmp_path, library), ml_app) as (_, client):
        await create(client)
        assert (await ingested(client, library))["counts"]["done"] == len(photos)
        yield client


async def pages(api: httpx.AsyncClient, text: str, limit: int) -> tuple[list[list[str]], list[int | None]]:
    """Every page of a facts-only listing: the names on each, and each page's total."""
    names, totals, cursor = [], [], None
    while True:
        page = await search(api, text, limit=limit, **({"cursor": cursor} if cursor else {}))
        assert page["only_facts"] is True
        names.append([name(hit) for hit in page["results"]])
        totals.append(page["total"])
        cursor = page["next_cursor"]
        if not cursor:
            return names, totals


@pytest.mark.parametrize("limit", [2, 5])
async def test_a_facts_only_listing_pages_through_the_photos_taken_then_those_named_for_it(trip_api, limit):
    """The walk-through's `2019`: the one photo taken in 2019 came last, under the folder hits of 2026."""
    names, totals = await pages(trip_api, "2019", limit=limit)
    # the five taken in 2019 newest first, then d1 (2021) and d2 (2018), which meet "2019" by their folder's name
    assert [name for page in names for name in page] == ["b2.jpg", "b1.jpg", "c3.jpg", "c2.jpg", "c1.jpg",
                                                          "d1.jpg", "d2.jpg"]
    assert all(len(page) <= limit for page in names) and all(names[:-1])
    assert totals[0] == 7 and set(totals[1:]) <= {None}


async def test_a_listing_says_which_photos_meet_the_year_by_their_folder(trip_api):
    page = await search(trip_api, "2019", limit=10)
    matched = {name(hit): hit["matched"] for hit in page["results"]}
    assert matched == {"d1.jpg": ["folder"], "d2.jpg": ["folder"], "b2.jpg": [], "b1.jpg": [], "c3.jpg": [],
                       "c2.jpg": [], "c1.jpg": []}


async def test_a_make_of_several_cameras_lists_and_counts_every_one(trip_api):
    names, totals = await pages(trip_api, "canon", limit=3)
    assert [name for page in names for name in page] == ["d1.jpg", "b3.jpg", "b2.jpg", "b1.jpg", "c3.jpg",
                                                          "c2.jpg", "c1.jpg"]
    assert totals[0] == 7  # the Canon EOS R5's six and the Canon EOS 80D's one
