"""Text search through the real services (in-process ingest and ML apps, tiny models, the embedded store):
words found where the model sees nothing, facts as filters, fusion by rank."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest

from sightline.ingest.hybrid import POOL, Candidates, rank, search_text, strong_by, word_match
from sightline.ingest.services import Services
from sightline.ingest.words import date_tokens, distinctive, token_groups
from tests.ingest.api.helpers import create, ingested, running, settings_for
from tests.samples import camera_like_jpeg, distinct_image

# words no tiny caption can hold (its captions are drawn from tests' CAPTION_WORDS)
LAYOUT = {
    "2019 Kyoto trip/IMG_0001.jpg": None, "2019 Kyoto trip/IMG_0002.jpg": None,
    "Grandma 80th birthday/DSC_0042.jpg": ("Canon", "Canon EOS R5", datetime(2021, 6, 5, 12)),
    "Grandma 80th birthday/DSC_0043.jpg": ("NIKON CORPORATION", "NIKON D750", datetime(2021, 6, 5, 13)),
    "misc/IMG_0005.png": None, "misc/IMG_0006.png": None, "misc/IMG_0007.png": None,
}


def sample(index: int, exif: tuple | None) -> bytes:
    if exif is None:
        return distinct_image(index, fmt="PNG" if index >= 4 else "JPEG")
    make, model, taken = exif
    return camera_like_jpeg(160, 120, seed=index, exif={"make": make, "model": model, "taken_at": taken})


@pytest.fixture()
async def services(ml_app, tmp_path, library) -> AsyncIterator[Services]:
    for index, (name, exif) in enumerate(LAYOUT.items()):
        (library / name).parent.mkdir(parents=True, exist_ok=True)
        (library / name).write_bytes(sample(index, exif))
    async with running(settings_for(tmp_path, library), ml_app) as (app, api):
        await create(api)
        job = await ingested(api, library)
        assert job["counts"]["done"] == len(LAYOUT), job
        yield app.state.services


async def search(services: Services, text: str, **options):
    info = await services.call(services.vectors.collection_info, "photos")
    options.setdefault("limit", len(LAYOUT))
    return await search_text(services, "photos", info, text, filters=options.pop("filters", None), **options)


def names(results) -> list[str]:
    return names_of(results.hits)


def names_of(hits) -> list[str]:
    return [Path(hit.payload["path"]).name for hit in hits]


async def test_a_folder_name_is_found_where_the_model_sees_nothing(services):
    results = await search(services, "kyoto")
    assert sorted(names(results)[:2]) == ["IMG_0001.jpg", "IMG_0002.jpg"]
    top = results.hits[0]
    assert top.matched == ["folder"] and top.similarity is not None
    assert results.understood == []


async def test_a_folder_word_says_where_the_photos_are_not_what_they_look_like(services):
    """`a red bicycle in kyoto` is embedded as `a red bicycle` (`kyoto` names a folder): the same similarities; the
    Kyoto photos say they matched by their folder, which alone makes none of them strong; `kyoto trip` names them
    whole."""
    near, plain = await search(services, "a red bicycle in kyoto"), await search(services, "a red bicycle")
    assert {hit.id: hit.similarity for hit in near.hits} == {hit.id: hit.similarity for hit in plain.hits}
    in_kyoto = [hit for hit in near.hits if "Kyoto" in hit.payload["folder"]]
    assert [(hit.matched, strong_by(hit)) for hit in in_kyoto] == [(["folder"], [])] * 2
    assert near.meaning == "a red bicycle in kyoto"  # what the UI names (the query without its facts)
    named = (await search(services, "kyoto trip")).hits[:2]
    assert sorted(names_of(named)) == ["IMG_0001.jpg", "IMG_0002.jpg"] and all(strong_by(hit) == ["folder"]
                                                                                for hit in named)


async def test_the_photo_matching_every_word_ranks_first(services):
    assert names(await search(services, "grandma birthday dsc 0043"))[0] == "DSC_0043.jpg"


async def test_facts_filter_and_come_back_as_chips(services):
    results = await search(services, "canon 2021")
    assert names(results) == ["DSC_0042.jpg"]
    assert [chip["kind"] for chip in results.understood] == ["date", "camera"]
    assert results.understood[1]["filter"] == {"camera": "Canon EOS R5"}
    assert names(await search(services, "png")) and set(names(await search(services, "png"))) == {
        "IMG_0005.png", "IMG_0006.png", "IMG_0007.png"}


async def test_paging_and_threshold(services):
    everything = names(await search(services, "a photo"))
    assert len(everything) == len(LAYOUT)
    assert names(await search(services, "a photo", limit=3, offset=2)) == everything[2:5]
    # no similarity reaches 2: only the photos whose words matched stay
    assert sorted(names(await search(services, "kyoto", threshold=2.0))) == ["IMG_0001.jpg", "IMG_0002.jpg"]


def candidates(similarity: dict[str, float], words: list[str], folders: dict[str, str]) -> Candidates:
    return Candidates(vector=list(similarity), words=words, similarity=similarity,
                      payloads={i: {"folder": f"/lib/{folders.get(i, 'misc')}"} for i in [*similarity, *words]})


def test_a_photo_matching_meaning_and_every_word_ranks_first() -> None:
    found = candidates({"a": 0.9, "b": 0.85, "c": 0.8, "d": 0.1}, ["c"], {"c": "Kyoto"})
    assert [hit.id for hit in rank(found, token_groups("kyoto"), ["/lib"])] == ["c", "a", "b", "d"]


def test_a_few_words_of_a_long_description_do_not_reorder_the_vector_ranking() -> None:
    found = candidates({"a": 0.9, "b": 0.85, "c": 0.8, "d": 0.1}, ["b"], {"b": "Lake District"})
    query = token_groups("a red car parked near the lake")
    ranked = rank(found, query, ["/lib"])
    assert [hit.id for hit in ranked] == ["a", "b", "c", "d"] and ranked[1].matched == ["folder"]


def test_past_the_pool_photos_keep_the_order_of_their_similarity() -> None:
    """Below the pool's lowest similarity closeness is 0 for all (it was negative, without bound): a page that
    reaches deeper, or a photo its words found without counting (one word of three), still goes by similarity."""
    similarity = {f"v{i:03d}": 0.9 - 0.001 * i for i in range(POOL + 20)}
    found = candidates(similarity, ["w"], {"w": "Lake District"})
    found.similarity["w"] = similarity["v110"] + 0.0005  # found by its words only, between v109 and v110
    ranked = [hit.id for hit in rank(found, token_groups("a red car near the lake"), ["/lib"])]
    assert ranked[POOL:] == [*(f"v{i:03d}" for i in range(POOL, 110)), "w", *(f"v{i:03d}" for i in range(110, 120))]


def test_a_caption_word_counts_half_a_word() -> None:
    fields = {"caption": ["goldfish"], "folder": ["aquarium"]}
    assert [word_match(token_groups("goldfish aquarium"), fields), word_match(token_groups("goldfish"), fields),
            word_match(token_groups("a photo"), fields)] == [0.75, 0.5, 0.0]


async def test_a_file_name_finds_that_file_not_every_file_of_its_camera(services):
    results = await search(services, "IMG_0006")
    assert names(results)[0] == "IMG_0006.png"
    others = [hit for hit in results.hits[1:] if hit.payload["filename"].startswith("IMG_")]
    assert others and all(hit.matched == [] for hit in others), [(h.payload["filename"], h.matched) for h in others]


async def test_a_file_names_extension_does_not_move_the_similarities(services):
    with_extension, without = await search(services, "kyoto.jpg"), await search(services, "kyoto")
    similarity = {hit.id: hit.similarity for hit in without.hits}
    assert {hit.id: hit.similarity for hit in with_extension.hits} == similarity


def test_a_year_inside_a_file_name_does_not_match_the_photos_of_that_year() -> None:
    june_2019 = {"folder": "/lib/misc", "filename": "IMG_0001.jpg", "taken_at_ts": 1560600000.0}  # 2019-06-15
    found = Candidates(vector=["a"], similarity={"a": 0.5}, payloads={"a": june_2019})

    def matched(query: str) -> list[str]:
        return rank(found, distinctive(token_groups(query)), ["/lib"], dates=date_tokens(query))[0].matched

    assert [matched("IMG_2019"), matched("DSC2019"), matched("2019-trip.png")] == [[], [], []]
    assert [matched("beach june"), matched("img 2019")] == [["date"], ["date"]]  # words by themselves


async def test_a_file_name_with_a_year_is_not_the_photos_of_that_year(services):
    results = await search(services, "IMG_2021")  # DSC_0042 and DSC_0043 were taken in 2021
    assert results.understood == [] and all(hit.matched == [] for hit in results.hits), [
        (hit.payload["filename"], hit.matched) for hit in results.hits]
    june = await search(services, "june")  # a month by itself still finds the photos taken then
    assert sorted(names(june)[:2]) == ["DSC_0042.jpg", "DSC_0043.jpg"]
    assert [hit.matched for hit in june.hits[:2]] == [["date"], ["date"]]


async def test_a_year_met_by_a_folders_name_says_so(services):
    """The walk-through's `2019`: the undated photos of `2019 Kyoto trip` are listed, and say by what."""
    results = await search(services, "2019")
    assert sorted(names(results)) == ["IMG_0001.jpg", "IMG_0002.jpg"]  # no photo here was taken in 2019
    assert [hit.matched for hit in results.hits] == [["folder"], ["folder"]]
    assert results.understood[0]["searched_in"] == "the photo's date, or its folder and file names"
    taken = await search(services, "2021")  # met by their own date: nothing to say
    assert sorted(names(taken)) == ["DSC_0042.jpg", "DSC_0043.jpg"] and [hit.matched for hit in taken.hits] == [[], []]


async def test_a_file_name_with_its_extension_matches_that_file_not_its_format(services):
    """The walk-through's `guitar.jpg` matched every JPEG by its `jpg`."""
    results = await search(services, "IMG_0006.png")
    assert names(results)[0] == "IMG_0006.png" and results.hits[0].matched == ["filename"]
    assert results.understood == [] and all(hit.matched == [] for hit in results.hits[1:]), [
        (hit.payload["filename"], hit.matched) for hit in results.hits]
