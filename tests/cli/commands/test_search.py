"""`sightline search` against the in-process server."""

from __future__ import annotations

import json
import re

import pytest


@pytest.fixture(scope="module")
def searchable(service) -> str:
    from tests.cli.conftest import invoke

    assert invoke(service.transport, "ingest", str(service.clean), "-c", "searchable", "--create").exit_code == 0
    return "searchable"


def test_text_search_prints_a_table_of_the_best_hits(service, searchable, sightline):
    table = sightline("search", "a photo", "-c", searchable, "--limit", "3")
    assert table.output.count(str(service.clean)) == 3


def test_the_table_has_score_path_and_caption_columns(searchable, sightline):
    output = sightline("search", "a photo", "-c", searchable).output
    assert re.search(r"┃\s*score\s*┃\s*path\s*┃\s*caption\s*┃", output), output


def test_json_prints_every_hit_of_the_collection(service, searchable, sightline):
    results = json.loads(sightline("search", "a photo", "-c", searchable, "--json").stdout)["results"]
    assert sorted(hit["payload"]["path"] for hit in results) == sorted(str(p) for p in service.clean.iterdir())


def test_an_image_finds_itself_first(service, searchable, sightline):
    image = service.clean / "img2.jpg"
    by_image = sightline("search", "-c", searchable, "--image", str(image), "--json")
    assert json.loads(by_image.stdout)["results"][0]["payload"]["path"] == str(image)


def test_neither_text_nor_image_is_a_usage_error(searchable, sightline):
    neither = sightline("search", "-c", searchable)
    assert neither.exit_code == 2
    assert "give a TEXT query or --image FILE" in neither.output


def test_an_empty_answer_says_no_results(searchable, sightline):
    empty = sightline("search", "a photo", "-c", searchable, "--min-score", "2")
    assert empty.output == "No results.\n"


@pytest.mark.parametrize("name", ["JPG", "Jpeg", "jpe"])
def test_a_format_is_matched_by_its_common_names_in_any_case(service, searchable, sightline, name):
    found = json.loads(sightline("search", "a photo", "-c", searchable, "--format", name, "--json").stdout)
    assert len(found["results"]) == len(list(service.clean.iterdir()))


def test_an_unknown_format_is_refused_with_the_known_ones(searchable, sightline):
    refused = sightline("search", "a photo", "-c", searchable, "--format", "bogus")
    assert refused.exit_code == 2
    assert "VALIDATION_ERROR: filters.format: " in refused.stderr and "jpeg, png" in refused.stderr, refused.stderr


def test_heic_and_tif_filters_are_the_stored_heif_and_tiff():
    from sightline.ingest.schemas import Filters

    assert (Filters(format=" HEIC").format, Filters(format="tif").format, Filters(format="PNG").format) == (
        "heif", "tiff", "png")


def test_a_relative_folder_is_taken_from_the_current_directory(service, searchable, sightline, monkeypatch):
    monkeypatch.chdir(service.clean.parent)
    found = json.loads(sightline("search", "a photo", "-c", searchable, "--folder", "clean", "--json").stdout)
    assert sorted(hit["payload"]["path"] for hit in found["results"]) == sorted(
        str(path) for path in service.clean.iterdir())
