"""The words of a photo: how names, captions and camera fields become search tokens."""

from __future__ import annotations

import pytest

from sightline.ingest.words import (
    asked_file, date_tokens, distinctive, field_words, names_file, photo_words, relative_folder, token_groups, tokens,
    without_extensions, without_words,
)


@pytest.mark.parametrize(("text", "expected"), [
    ("IMG_4411.JPG", ["img", "4411", "jpg"]),
    ("DSC-0042", ["dsc", "0042", "42"]),
    ("grandmaBirthday80th", ["grandmabirthday80th", "grandma", "birthday", "80", "th"]),
    ("ÉcoleMaternelle", ["écolematernelle", "école", "maternelle", "ecolematernelle", "ecole"]),
    ("kids at the beach", ["kids", "kid", "beach"]),
    ("a photo of a dog", ["dog"]),
    ("9f86d081884c7d659a2f upload", ["upload"]),
    ("CR2 rw2 x3f", ["cr2", "rw2", "x3f"]),  # a format's spelling stays whole: `cr2` is no `2`
])
def test_tokens_split_names_on_separators_case_and_digits(text: str, expected: list[str]) -> None:
    assert tokens(text) == expected


def test_the_folder_is_relative_to_the_deepest_root_that_holds_it() -> None:
    assert [relative_folder("/srv/photos/2019 Kyoto/day 1", ["/srv", "/srv/photos"]),
            relative_folder("/elsewhere/trip", ["/srv/photos"])] == ["2019 Kyoto/day 1", "/elsewhere/trip"]


def test_a_photo_has_the_words_of_every_field() -> None:
    payload = {"folder": "/lib/Grandma 80th birthday", "filename": "DSC_0042.HEIC", "format": "heif",
               "caption": "a photo of a birthday cake", "camera_make": "Canon", "camera_model": "Canon EOS R5",
               "camera": "Canon EOS R5", "lens": "RF50mm F1.8", "taken_at_ts": 1686787200.0}  # 2023-06-15
    assert field_words(payload, ["/lib"]) == {
        "folder": ["grandma", "80th", "80", "th", "birthday"], "filename": ["dsc", "0042", "42"],
        "caption": ["birthday", "cake"], "camera": ["canon", "eos", "r5", "5"],
        "lens": ["rf50mm", "rf", "50", "mm", "f1", "1", "8"], "format": ["heic", "heif", "hif"],
        "date": ["2023", "june"],
    }
    words = photo_words(payload, ["/lib"]).split()
    assert len(words) == len(set(words)) and words[:3] == ["grandma", "80th", "80"]


def test_token_groups_keep_the_spellings_of_one_word_together() -> None:
    assert token_groups("a photo of Kids_Party DSC_0100") == (("kids", "kid"), ("party",), ("dsc",), ("0100", "100"))


def test_a_file_name_query_keeps_what_tells_the_file_apart():
    assert distinctive(token_groups("IMG_0013")) == (("0013", "13"),)
    assert distinctive(token_groups("DSC")) == (("dsc",),)  # nothing else: the prefix is the query
    assert distinctive(token_groups("kyoto img")) == (("kyoto",),)


@pytest.mark.parametrize(("text", "expected"), [
    ("2019", {"2019"}), ("dogs in June, 2019.", {"june", "2019"}), ("(2019)", {"2019"}),
    ("IMG_2019", set()), ("DSC2019", set()), ("2019-trip.jpg", set()), ("IMG.2019", set()), ("junebug", set()),
])
def test_only_a_year_or_month_by_itself_may_match_a_photos_date(text: str, expected: set[str]) -> None:
    assert date_tokens(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("guitar.jpg", ["guitar"]), ("IMG_0022.JPG dog", ["img", "0022", "22", "dog"]),
    ("DSC_0001.CR2", ["dsc", "0001", "1"]), ("jpg", ["jpg"]), (".heic", ["heic"]), ("report.pdf", ["report", "pdf"]),
    ("guitar.jpgs", ["guitar", "jpgs", "jpg"]),
])
def test_a_file_names_extension_is_no_word_but_a_format_by_itself_is(text: str, expected: list[str]) -> None:
    """The walk-through's `guitar.jpg` matched every JPEG by its `jpg`: the name asks for one file."""
    assert tokens(without_extensions(text)) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("IMG_0022", ("img", "0022")), ("IMG_0022.JPG", ("img", "0022")), ("DSC9999", ("dsc", "9999")),
    ("guitar.jpg", ("guitar",)), ("“IMG_0022”", ("img", "0022")),
    ("moon", None), ("0022", None), ("IMG", None), ("IMG_0022 dog", None), (".jpg", None), ("cr2", None),
    # any letters then a number of 3 digits or more: a file's name (scanners, burst modes, exports)
    ("BURST_0022", ("burst", "0022")), ("P0022", ("p", "0022")), ("scan-0002", ("scan", "0002")),
    ("covid19", None), ("80th", None), ("kyoto 2019", None), ("2019", None),
])
def test_a_query_of_one_file_name_asks_for_that_file(text: str, expected: tuple[str, ...] | None) -> None:
    assert asked_file(text) == expected


@pytest.mark.parametrize(("filename", "expected"), [
    ("IMG_0022.jpg", True), ("img-0022.JPG", True), ("IMG_0022 (1).jpg", True), ("IMG_0022-edited.png", True),
    ("2019 IMG_0022.jpg", True), ("BURST_0022.jpg", False), ("IMG_00221.jpg", False), ("DSC_0022.jpg", False),
    ("IMG.jpg", False),
])
def test_a_file_is_named_as_asked_when_its_name_holds_the_whole_name_asked_for(filename: str, expected: bool) -> None:
    assert names_file(("img", "0022"), filename) is expected


@pytest.mark.parametrize(("text", "held", "expected"), [
    ("dogs at home", {"home"}, "dogs"),  # the stop words before a word left out go with it
    ("a present at grandma's birthday", {"grandma", "birthday"}, "a present"),
    ("sunrise while camping", {"camping"}, "sunrise while"),
    ("fish trips", {"day", "trips", "trip"}, "fish"),  # `trips` by its singular too
    ("people on holiday", {"people", "holiday"}, "people on holiday"),  # nothing else left: all of it
    ("holiday", {"holiday"}, "holiday"),
    ("a dog", {"home"}, "a dog"),
])
def test_words_held_elsewhere_are_left_out_when_something_else_is_left(text: str, held: set[str],
                                                                       expected: str) -> None:
    assert without_words(text, held) == expected
