"""Facts read out of a search query: dates, cameras, formats, and what each lets through."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from sightline.ingest.understand import understand

CAMERAS = ["Canon EOS R5", "Canon EOS 80D", "NIKON D750", "Apple iPhone 15 Pro"]
NAMES = ", or its folder and file names"  # a fact with words is met by them too (a range of years has none)


def ts(*args: int) -> float:
    return datetime(*args, tzinfo=timezone.utc).timestamp()


@pytest.mark.parametrize(("query", "text", "after", "before", "rest"), [
    ("kyoto 2019", "2019", "2019-01-01T00:00:00Z", "2019-12-31T23:59:59Z", "kyoto"),
    ("June 2023 beach", "June 2023", "2023-06-01T00:00:00Z", "2023-06-30T23:59:59Z", "beach"),
    ("sept. 2020", "sept. 2020", "2020-09-01T00:00:00Z", "2020-09-30T23:59:59Z", ""),
    ("party 2023-02", "2023-02", "2023-02-01T00:00:00Z", "2023-02-28T23:59:59Z", "party"),
    ("snow 2021-2019", "2021-2019", "2019-01-01T00:00:00Z", "2021-12-31T23:59:59Z", "snow"),
])
def test_a_date_becomes_a_range(query: str, text: str, after: str, before: str, rest: str) -> None:
    understood = understand(query)
    assert understood.chips() == [{"kind": "date", "text": text,
                                   "filter": {"taken_after": after, "taken_before": before},
                                   "searched_in": "the photo's date" + NAMES * (text != "2021-2019")}]
    assert understood.rest == rest


@pytest.mark.parametrize("query", ["IMG_2019", "dsc-2019", "DSC2019", "IMG.2019", "2019.jpg", "2019-trip.jpg",
                                   "2019-06-14_party.jpg", "trip_2019-06", "mayor of 20", "a 12345 b"])
def test_numbers_inside_names_are_not_dates(query: str) -> None:
    understood = understand(query)
    assert (understood.facts, understood.rest) == ([], query)


@pytest.mark.parametrize(("query", "text"), [("2019", "2019"), ("in 2019", "2019"), ("2019 dog", "2019"),
                                             ("dogs (2019)", "2019"), ("dog, 2019.", "2019"),
                                             ("“June 2019”", "June 2019"), ("2019-06", "2019-06")])
def test_a_date_that_is_words_by_themselves_stays_a_fact(query: str, text: str) -> None:
    assert [fact.text for fact in understand(query).facts] == [text]


def test_a_date_lets_through_photos_of_that_time_or_with_its_words() -> None:
    understood = understand("2019")
    assert [understood.holds({"sort_ts": ts(2019, 7, 1)}), understood.holds({"sort_ts": ts(2020, 1, 1)}),
            understood.holds({"sort_ts": ts(2024, 1, 1), "words": "2019 kyoto trip"}),
            understood.holds({})] == [True, False, True, False]


def test_a_camera_make_of_the_collection_becomes_its_cameras() -> None:
    understood = understand("canon sunset", CAMERAS)
    assert understood.chips() == [{"kind": "camera", "text": "canon",
                                   "filter": {"camera": ["Canon EOS 80D", "Canon EOS R5"]},
                                   "searched_in": "the photo's camera" + NAMES}]
    assert understood.rest == "sunset"
    assert [understood.holds({"camera": "Canon EOS R5"}), understood.holds({"camera": "NIKON D750"}),
            understood.holds({"camera": None, "words": "canon"})] == [True, False, True]


def test_only_makes_of_the_collection_and_not_everyday_words_are_cameras() -> None:
    assert understand("sony canon", ["NIKON D750"]).facts == []
    assert understand("apple pie", CAMERAS).facts == []
    assert understand("iphone", CAMERAS).chips()[0]["filter"] == {"camera": "Apple iPhone 15 Pro"}


@pytest.mark.parametrize(("query", "formats"), [(".heic", "heif"), ("HEIC", "heif"), ("jpg", "jpeg"),
                                                ("raw", ["raw", "dng"]), ("png", "png")])
def test_a_format_word_becomes_a_format(query: str, formats: str | list[str]) -> None:
    assert understand(f"cats {query}").chips() == [{"kind": "format", "text": query, "filter": {"format": formats},
                                                    "searched_in": "the photo's format"}]


@pytest.mark.parametrize("query", ["guitar.jpg", "IMG_0022.JPG", "my new guitar.png"])
def test_a_file_name_is_no_format_fact(query: str) -> None:
    """The walk-through's `guitar.jpg`: a name with its extension asks for a file, not for every JPEG."""
    assert (understand(query).facts, understand(query).rest) == ([], query)


def test_every_fact_must_hold() -> None:
    understood = understand("nikon raw 2021", CAMERAS)
    assert [fact["kind"] for fact in understood.chips()] == ["date", "format", "camera"]
    good = {"camera": "NIKON D750", "format": "dng", "sort_ts": ts(2021, 5, 1)}
    assert [understood.holds(good), understood.holds({**good, "format": "jpeg"})] == [True, False]
