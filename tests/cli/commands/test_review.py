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
