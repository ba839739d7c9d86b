"""`sightline duplicates | merge | random` against the in-process server, on a set with known duplicates."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.ingest.review.sets import known_set


@pytest.fixture(scope="module")
def known(service) -> Iterator[dict[str, str]]:
    assert service.http.post("/api/v1/collections", json={"name": "dupes"}).status_code == 201
    yield known_set(service.http.app.state.services.vectors, "dupes", create=False)
    for name in ("dupes", "dupes-copy"):
        service.http.delete(f"/api/v1/collections/{name}")


def test_near_duplicates_wait_for_the_scan_and_list_the_keeper_first(known, sightline):
    result = sightline("duplicates", "dupes", "--kind", "near", "--json")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert answer["state"] == "ready"
    assert [g["point_ids"][0] for g in answer["groups"]] == [known["b0"], known["a-original"]]
    table = sightline("duplicates", "dupes", "--kind", "all")
    assert "3 groups" in table.output and "/photos/a-original.jpeg" in table.output, table.output


def test_exact_and_near_duplicates_by_default_as_on_the_page(known, sightline):
    exact = json.loads(sightline("duplicates", "dupes", "--kind", "exact", "--json").output)
    assert [(g["kind"], g["point_ids"]) for g in exact["groups"]] == [("exact", [known["c1"], known["c0"]])]
    default = json.loads(sightline("duplicates", "dupes", "--json").output)
    assert default == json.loads(sightline("duplicates", "dupes", "--kind", "all", "--json").output)
    assert {g["kind"] for g in default["groups"]} == {"exact", "near"}


def test_merge_and_random(known, sightline, service):
    assert service.http.post("/api/v1/collections", json={"name": "dupes-copy"}).status_code == 201
    merged = sightline("merge", "dupes", "dupes-copy")
    assert merged.exit_code == 0 and f"Merged {len(known)} images" in merged.output, merged.output
    assert f"{len(known)} new, 0 already there" in merged.output, merged.output
    again = sightline("merge", "dupes", "dupes-copy", "--json")  # waited for; the same files: nothing added
    assert json.loads(again.output) == {"merged": len(known), "added": 0, "from": "dupes", "into": "dupes-copy",
                                        "points_count": len(known), "sources": []}, again.output
    picked = sightline("random", "dupes-copy", "--limit", "2")
    assert picked.exit_code == 0 and len(picked.output.strip().splitlines()) == 2, picked.output
    assert all(line.startswith("/photos/") for line in picked.output.split())
    missing = sightline("merge", "nope", "dupes-copy")
    assert missing.exit_code == 2 and "NOT_FOUND" in missing.output


def test_each_member_says_which_file_it_has_the_same_bytes_as(known, sightline):
    """The table said "same bytes" without naming which file."""
    table = sightline("duplicates", "dupes", "--kind", "exact").output
    best = next(line for line in table.splitlines() if "/photos/c1.jpeg" in line)
    copy = next(line for line in table.splitlines() if "/photos/c0.jpeg" in line)
    assert "best: keep" in best and "same bytes as the best" in copy, table


def test_a_copy_of_another_member_than_the_best_is_named_as_on_the_page():
    from sightline.cli.commands.review import kinship

    group = {"kind": "near", "point_ids": ["p1", "p2", "p3", "p4"],
             "points": [{"id": "p1", "filename": "IMG_1.jpg"}, {"id": "p2", "filename": "IMG_1 (copy).png"},
                        {"id": "p3", "exact_of": "p2", "filename": "IMG_1 (copy 2).png"},
                        {"id": "p4", "exact_of": "p1", "filename": "IMG_1 (3).jpg", "hash_bits": 0}]}
    said = [kinship(group, {"hash_bits": 3, **point}, index) for index, point in enumerate(group["points"])]
    assert said == ["best: keep", "picture matches the best (3 of 64 hash bits differ)",
                    "same bytes as IMG_1 (copy).png", "same bytes as the best"]
    assert kinship(group, {"id": "p2", "hash_bits": None}, 1) == "picture not compared (unreadable)"
