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


def test_the_table_has_match_id_and_path_with_caption_columns(searchable, sightline):
    output = sightline("search", "a photo", "-c", searchable).output
    assert re.search(r"┃\s*match\s*┃\s*id\s*┃\s*path · caption\s*┃", output), output
    assert re.search(r"│\s*-?\d\.\d{3}\s*│", output), output  # a similarity


@pytest.mark.parametrize("columns", [80, 40])
@pytest.mark.parametrize("query", [["a photo"], []], ids=["search", "listing"])
def test_each_hit_shows_its_whole_id_at_any_width_and_images_show_takes_it(searchable, sightline, columns, query):
    answer = json.loads(sightline("search", *query, "-c", searchable, "--json").stdout)
    output = sightline("search", *query, "-c", searchable, columns=columns).output
    shown = re.findall(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", output)
    assert sorted(shown) == sorted(hit["id"] for hit in answer["results"]), output
    detail = sightline("images", "show", shown[0], "-c", searchable, "--json")
    assert json.loads(detail.stdout)["id"] == shown[0]


@pytest.mark.parametrize("columns", [80, 40])
def test_the_cursor_to_paste_is_printed_whole_at_any_width(searchable, sightline, columns):
    """Cut at the terminal's width, the pasted cursor was "not one Sightline gave out"."""
    first = sightline("search", "-c", searchable, "--limit", "3", columns=columns)
    cursor = json.loads(sightline("search", "-c", searchable, "--limit", "3", "--json").stdout)["next_cursor"]
    assert len(cursor) > 80 and f"More: the same command with --cursor {cursor}\n" in first.output, first.output
    rest = sightline("search", "-c", searchable, "--limit", "3", "--cursor", cursor, columns=columns)
    assert rest.exit_code == 0 and "More:" not in rest.output, rest.output


def row_of(output: str, path: str) -> str:
    return next(line for line in output.splitlines() if path in line)


def test_a_hit_its_file_name_made_strong_says_so_instead_of_a_similarity(searchable, sightline):
    answer = json.loads(sightline("search", "img1", "-c", searchable, "--json").stdout)
    hit = next(hit for hit in answer["results"] if hit["payload"]["filename"] == "img1.jpg")
    assert hit["matched"] == ["filename"] and hit["similarity"] < answer["strong_from"], answer
    output = sightline("search", "img1", "-c", searchable).output
    assert re.search(r"│\s*file name\s*│", row_of(output, hit["payload"]["path"])), output


def test_a_hit_strong_by_its_similarity_shows_it_with_the_field_beside_it(searchable, sightline):
    """`clean` is every photo's folder: the one whose similarity alone is strong shows it, "· folder" beside."""
    answer = json.loads(sightline("search", "clean", "-c", searchable, "--json").stdout)
    output = sightline("search", "clean", "-c", searchable).output
    strong = [hit for hit in answer["results"] if hit["similarity"] >= answer["strong_from"]]
    by_words = [hit for hit in answer["results"] if hit["similarity"] < answer["strong_from"]]
    assert strong and by_words and all(hit["matched"] == ["folder"] for hit in answer["results"]), answer
    for hit in strong:
        assert f"{hit['similarity']:.3f} · folder" in row_of(output, hit["payload"]["path"]), output
    for hit in by_words:
        assert re.search(r"│\s*folder\s*│", row_of(output, hit["payload"]["path"])), output


def test_json_prints_every_hit_of_the_collection(service, searchable, sightline):
    results = json.loads(sightline("search", "a photo", "-c", searchable, "--json").stdout)["results"]
    assert sorted(hit["payload"]["path"] for hit in results) == sorted(str(p) for p in service.clean.iterdir())


def test_an_image_finds_itself_first(service, searchable, sightline):
    image = service.clean / "img2.jpg"
    by_image = sightline("search", "-c", searchable, "--image", str(image), "--json")
    assert json.loads(by_image.stdout)["results"][0]["payload"]["path"] == str(image)


def test_text_and_image_together_is_a_usage_error(service, searchable, sightline):
    both = sightline("search", "x", "-c", searchable, "--image", str(service.clean / "img2.jpg"))
    assert both.exit_code == 2
    assert "give a TEXT query or --image FILE, not both" in both.output


def test_without_a_query_it_lists_the_collection_a_page_at_a_time(service, searchable, sightline):
    first = sightline("search", "-c", searchable, "--limit", "3")
    assert first.exit_code == 0, first.output
    assert first.output.count(str(service.clean)) == 3 and "4 images in all" in first.output
    found = re.search(r"More: the same command with --cursor (\S+)", first.output)
    assert found, first.output
    cursor = found.group(1)
    rest = json.loads(sightline("search", "-c", searchable, "--limit", "3", "--cursor", cursor, "--json").stdout)
    assert (len(rest["results"]), rest["next_cursor"], rest["mode"]) == (1, None, "browse")
    listed = re.findall(r"img\d\.jpg", first.output) + [hit["payload"]["filename"] for hit in rest["results"]]
    assert sorted(listed) == sorted(path.name for path in service.clean.iterdir())


def test_tables_fit_80_columns(searchable, service):
    from typer.testing import CliRunner

    from sightline.cli import app
    from tests.cli.conftest import ENV, URL

    point_id = service.http.post("/api/v1/search", json={"collection": searchable}).json()["results"][0]["id"]
    for args in (["search", "-c", searchable], ["search", "a photo", "-c", searchable], ["collections", "list"],
                 ["collections", "info", searchable], ["jobs", "list"], ["images", "show", point_id, "-c", searchable,
                                                                          "--technical"]):
        result = CliRunner().invoke(app, [*args, "--url", URL], env={**ENV, "COLUMNS": "80"}, obj=service.transport)
        assert result.exit_code == 0, result.output
        drawn = [line for line in result.output.splitlines() if not line.startswith("Its index is built")]
        assert max(len(line) for line in drawn) <= 80, result.output  # the note, a line to copy, runs on


def test_an_empty_collection_says_so(service, sightline):
    assert sightline("collections", "create", "nothing-yet").exit_code == 0
    assert sightline("search", "-c", "nothing-yet").output == "This collection is empty.\n"
    service.http.delete("/api/v1/collections/nothing-yet")


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


def test_facts_read_from_the_query_are_shown_with_where_they_were_looked_for(searchable, sightline):
    found = sightline("search", "a photo in 2020", "-c", searchable)
    # a year is met by a photo's date or by its names (a folder "2020 trip" of undated photos): the line says so
    assert found.exit_code == 0 and "Understood: date 2020 (in the photo's date, or its folder and file names)" \
        in " ".join(found.output.split())
    found = sightline("search", "png", "-c", searchable)
    assert found.exit_code == 0 and "Understood: format png (in the photo's format)" in found.output
