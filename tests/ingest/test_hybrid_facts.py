"""Facts in a text query are constraints, not meaning (the walk-through's "dog 2019"): the words a fact was read
from neither rank a hit nor make it a strong match; a query made only of facts is a listing, newest first."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from sightline.ingest.hybrid import with_facts
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


async def search(api: httpx.AsyncClient, text: str, **body) -> dict:
    response = await api.post("/api/v1/search", json={"collection": "photos", "text": text, "limit": 10, **body})
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
