"""`sightline images delete` against the in-process server."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from sightline.ingest.pipeline import point_id_for


@pytest.fixture()
def pruned(service, sightline) -> Iterator[str]:
    """A collection holding the clean folder's four images."""
    assert sightline("ingest", str(service.clean), "-c", "pruned", "--create").exit_code == 0
    yield "pruned"
    service.http.delete("/api/v1/collections/pruned")


def paths(service, collection: str) -> list[str]:
    found = service.http.post("/api/v1/search", json={"collection": collection, "text": "a photo", "limit": 10})
    return sorted(hit["payload"]["path"] for hit in found.json()["results"])


def test_delete_removes_the_images_and_keeps_the_originals(service, pruned, sightline):
    doomed = [str(service.clean / name) for name in ("img0.jpg", "img1.jpg")]
    removed = sightline("images", "delete", *[point_id_for(pruned, path) for path in doomed], "-c", pruned, "--yes")
    assert (removed.exit_code, removed.output) == (0, "Removed 2 images from pruned.\n")
    assert paths(service, pruned) == [str(service.clean / "img2.jpg"), str(service.clean / "img3.jpg")]
    assert len(list(service.clean.iterdir())) == 4


def test_delete_asks_first_and_no_keeps_them(service, pruned, sightline):
    point_id = point_id_for(pruned, str(service.clean / "img0.jpg"))
    refused = sightline("images", "delete", point_id, "-c", pruned, input="n\n")
    assert refused.exit_code == 1 and "Aborted." in refused.output
    assert len(paths(service, pruned)) == 4


def test_missing_ids_are_named_and_exit_1(service, pruned, sightline):
    kept, unknown = (point_id_for(pruned, str(service.clean / name)) for name in ("img3.jpg", "never.jpg"))
    answer = sightline("images", "delete", kept, unknown, "-c", pruned, "--yes", "--json")
    assert answer.exit_code == 1
    assert json.loads(answer.stdout) == {"deleted": 1, "missing": [unknown]}


def test_a_bad_id_is_refused_before_anything_is_asked(service, pruned, sightline):
    kept = point_id_for(pruned, str(service.clean / "img0.jpg"))
    bad = sightline("images", "delete", kept, "nope", "-c", pruned, input="y\n")
    assert bad.exit_code == 2 and "Remove" not in bad.stdout, bad.output
    assert bad.stderr.startswith("Not a point id: nope. Point ids look like "), bad.stderr
    assert len(paths(service, pruned)) == 4


@pytest.mark.parametrize("command", ["show", "delete"])
def test_a_path_is_told_apart_with_the_search_that_finds_its_id(service, pruned, sightline, command):
    """`images show photos/Pets/IMG_0001.jpg` answered "NOT_FOUND: Not Found"."""
    given = str(service.clean / "img0.jpg")
    told = sightline("images", command, given, "-c", pruned, input="y\n")
    assert told.exit_code == 2, told.output
    assert told.stderr == (f"{given} is a path; this takes a point id (the id column of `sightline search`): "
                           f"`sightline search img0.jpg -c {pruned}` shows that photo's.\n")
    found = sightline("search", "img0.jpg", "-c", pruned)
    assert point_id_for(pruned, given) in next(line for line in found.output.splitlines() if given in line)


def test_show_prints_the_details_in_words(service, pruned, sightline):
    point_id = point_id_for(pruned, str(service.clean / "img0.jpg"))
    shown = sightline("images", "show", point_id, "-c", pruned)
    assert shown.exit_code == 0 and "File date" in shown.output
    assert "SHA-256" not in shown.output
    assert "SHA-256" in sightline("images", "show", point_id, "-c", pruned, "--technical").output
    detail = json.loads(sightline("images", "show", point_id, "-c", pruned, "--json").stdout)
    assert detail["id"] == point_id and detail["facts"]
