"""`sightline collections list | create | info | delete` against the in-process server."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from tests.cli.conftest import invoke


@pytest.fixture(scope="module")
def albums(service) -> Iterator[str]:
    created = invoke(service.transport, "collections", "create", "albums", "--distance", "dot", "--hnsw-m", "8",
                     "--ef-construct", "64", "--quantization", "int8")
    assert created.exit_code == 0, created.output
    yield "albums"
    service.http.delete("/api/v1/collections/albums")


@pytest.fixture()
def doomed(service) -> Iterator[str]:
    """An empty collection for a test to delete."""
    assert service.http.post("/api/v1/collections", json={"name": "doomed"}).status_code == 201
    yield "doomed"
    service.http.delete("/api/v1/collections/doomed")


def test_create_prints_the_new_collection(albums, sightline):
    info = sightline("collections", "info", albums)
    assert re.search(r"distance\s*│\s*Dot\s", info.output), info.output


def test_create_sends_the_chosen_parameters(service, albums):
    params = service.http.get(f"/api/v1/collections/{albums}").json()["params"]
    chosen = {key: params[key] for key in ("distance", "hnsw_m", "hnsw_ef_construct", "quantization")}
    assert chosen == {"distance": "Dot", "hnsw_m": 8, "hnsw_ef_construct": 64, "quantization": "int8"}


def test_create_says_so(service, sightline):
    created = sightline("collections", "create", "said")
    service.http.delete("/api/v1/collections/said")
    assert created.output.startswith("Created collection said.\n")


def test_create_json_prints_only_the_answer(service, sightline):
    created = sightline("collections", "create", "as-json", "--json")
    service.http.delete("/api/v1/collections/as-json")
    assert json.loads(created.stdout)["name"] == "as-json"


def test_list_shows_the_collection_with_its_point_count(albums, sightline):
    listed = sightline("collections", "list")
    assert re.search(r"albums\s+│\s+0\s", listed.output), listed.output


def test_list_json_is_the_api_answer(service, albums, sightline):
    listed = sightline("collections", "list", "--json")
    assert json.loads(listed.stdout) == service.http.get("/api/v1/collections").json()


def test_info_shows_the_quantization(albums, sightline):
    info = sightline("collections", "info", albums)
    assert re.search(r"quantization\s*│\s*int8\s", info.output), info.output


def test_delete_asks_first_and_no_keeps_it(service, doomed, sightline):
    refused = sightline("collections", "delete", doomed, input="n\n")
    assert "Delete collection doomed and its 0 points? [y/N]: n\nAborted." in refused.output
    assert refused.exit_code == 1
    assert service.http.get(f"/api/v1/collections/{doomed}").status_code == 200


def test_delete_yes_deletes(service, doomed, sightline):
    deleted = sightline("collections", "delete", doomed, "--yes")
    assert deleted.output == "Deleted collection doomed.\n"
    assert service.http.get(f"/api/v1/collections/{doomed}").status_code == 404


def test_an_unknown_collection_prints_the_api_error_on_stderr(sightline):
    missing = sightline("collections", "info", "no-such")
    assert missing.exit_code == 2
    assert missing.stderr == "NOT_FOUND: collection 'no-such' does not exist\n"


def test_a_vector_size_other_than_the_model_s_is_refused(sightline):
    bad_size = sightline("collections", "create", "wrong-size", "--vector-size", "3")
    assert bad_size.exit_code == 2
    assert bad_size.stderr.startswith("MODEL_MISMATCH: vector_size 3 does not match the ML model")


def test_a_bad_name_is_refused_with_the_rule_in_words(sightline):
    refused = sightline("collections", "create", "my photos!")
    assert refused.exit_code == 2
    assert refused.stderr == ("VALIDATION_ERROR: name: a collection name has letters, digits, '-' and '_', starting "
                              "with a letter or digit, at most 64 characters\n")


def test_the_hnsw_settings_are_said_to_wait_for_the_index_not_to_be_ignored(albums, sightline):
    """`collections create` said "ignored here: hnsw_m, hnsw_ef_construct" of a store that builds an HNSW index."""
    info = sightline("collections", "info", albums)
    assert "ignored" not in info.output, info.output
    said = " ".join(info.output.split())
    assert "│ vector index │ not built yet: search is exact; hnsw m, hnsw ef_construct and quantization apply" in said, said
    assert ("Its index is built after a job once it holds 20,000 points, or now with "
            f"`sightline collections index {albums}`.\n") in info.output


def test_index_builds_it_now_and_info_then_says_so(service, sightline):
    assert sightline("ingest", str(service.clean), "-c", "indexed", "--create").exit_code == 0
    try:
        built = sightline("collections", "index", "indexed")
        assert (built.exit_code, built.output) == (0, "Built the index of indexed: 4 vectors indexed.\n")
        info = sightline("collections", "info", "indexed")
        assert re.search(r"vector index\s*│\s*built\s", info.output) and "Its index" not in info.output, info.output
    finally:
        service.http.delete("/api/v1/collections/indexed")
