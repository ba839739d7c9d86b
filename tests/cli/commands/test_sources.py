"""`sightline sources ...` against the in-process server."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime

import pytest

from tests.cli.conftest import Service, Sightline


@pytest.fixture()
def followed(service: Service, sightline: Sightline) -> Iterator[dict]:
    """The clean folder as an unwatched source of a new collection (its first sync finished)."""
    assert service.http.post("/api/v1/collections", json={"name": "followed"}).status_code == 201
    added = sightline("sources", "add", str(service.clean), "-c", "followed", "--no-watch", "-x", "*.tmp",
                      "--rescan-minutes", "0", "--follow")
    assert added.exit_code == 0, added.output
    source = service.http.get("/api/v1/collections/followed/sources").json()["sources"][0]
    yield source
    service.http.delete(f"/api/v1/collections/followed/sources/{source['source_id']}")
    service.http.delete("/api/v1/collections/followed")


def test_add_prints_the_source_and_its_first_sync(followed: dict, service: Service) -> None:
    assert (followed["watch"], followed["exclude"], followed["rescan_minutes"]) == (False, ["*.tmp"], 0)
    assert followed["last_sync"]["counts"]["done"] == 4


def test_list_shows_state_images_and_last_sync(followed: dict, sightline: Sightline) -> None:
    listed = sightline("sources", "list", "-c", "followed")
    assert listed.exit_code == 0
    row = next(line for line in listed.output.splitlines() if followed["source_id"] in line)
    assert "idle" in row and " 4 " in row and "4 embedded" in row and "re-scan" not in listed.output


def test_list_shows_the_sync_time_to_the_second_as_the_rest_of_the_cli(followed: dict, sightline: Sightline) -> None:
    """It printed the raw ISO time, "2026-11-27T10:30:12"."""
    listed = sightline("sources", "list", "-c", "followed").output
    local = datetime.fromisoformat(followed["last_sync_at"]).astimezone()
    assert cells(listed, 5)[:2] == ["completed: 4 embedded", f"{local:%Y-%m-%d %H:%M:%S}"], listed


def cells(output: str, column: int) -> list[str]:
    """The text of one column of a boxed table, a line each."""
    return [line.split("│")[column].strip() for line in output.splitlines() if line.startswith("│")]


@pytest.mark.parametrize("columns", [120, 80, 60])
def test_list_breaks_the_folder_only_after_a_slash_and_keeps_the_id_whole(
        followed: dict, sightline: Sightline, columns: int) -> None:
    """At 120 columns the folder broke inside a name."""
    listed = sightline("sources", "list", "-c", "followed", columns=columns)
    assert followed["source_id"] in cells(listed.output, 1), listed.output
    pieces = [piece for piece in cells(listed.output, 2) if piece]
    assert "".join(pieces) == followed["path"] and all(piece.endswith("/") for piece in pieces[:-1]), listed.output


def test_list_json_is_the_api_answer(followed: dict, sightline: Sightline) -> None:
    answer = json.loads(sightline("sources", "list", "-c", "followed", "--json").output)
    assert [source["source_id"] for source in answer["sources"]] == [followed["source_id"]]


def test_edit_and_sync(followed: dict, sightline: Sightline) -> None:
    edited = sightline("sources", "edit", followed["source_id"], "-c", "followed", "--no-excludes", "--json")
    assert json.loads(edited.output)["exclude"] == []
    synced = sightline("sources", "sync", followed["source_id"], "-c", "followed", "--follow")
    assert synced.exit_code == 0, synced.output
    assert "4 unchanged" in synced.output


def test_remove_keeps_the_images_unless_asked(followed: dict, service: Service, sightline: Sightline) -> None:
    removed = sightline("sources", "remove", followed["source_id"], "-c", "followed")
    assert removed.output == f"Source {followed['source_id']} removed; its images are kept in the index.\n"
    assert service.http.get("/api/v1/collections/followed").json()["points_count"] == 4


def test_an_unknown_source_is_an_error(followed: dict, sightline: Sightline) -> None:
    failed = sightline("sources", "sync", "nope", "-c", "followed")
    assert failed.exit_code == 2 and "No source 'nope'" in failed.output


def test_sync_takes_the_folder(followed: dict, service: Service, sightline: Sightline) -> None:
    synced = sightline("sources", "sync", f"{service.clean}/", "-c", "followed", "--follow")
    assert synced.exit_code == 0, synced.output
    assert f"Sync of source {followed['source_id']}" in synced.output and "4 unchanged" in synced.output


def test_edit_takes_a_relative_folder_or_one_under_home(followed: dict, service: Service, sightline: Sightline,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(service.clean.parent)
    monkeypatch.setenv("HOME", str(service.clean.parent))
    for minutes, folder in ((5, service.clean.name), (7, f"~/{service.clean.name}")):
        edited = sightline("sources", "edit", folder, "-c", "followed", "--rescan-minutes", str(minutes), "--json")
        assert edited.exit_code == 0, (folder, edited.output)
        assert json.loads(edited.output)["rescan_minutes"] == minutes


def test_remove_takes_the_folder(followed: dict, service: Service, sightline: Sightline) -> None:
    removed = sightline("sources", "remove", str(service.clean), "-c", "followed")
    assert removed.output == f"Source {followed['source_id']} removed; its images are kept in the index.\n"


def test_a_folder_no_source_follows_is_named(followed: dict, service: Service, sightline: Sightline) -> None:
    other = str(service.mixed)
    failed = sightline("sources", "sync", other, "-c", "followed")
    assert failed.exit_code == 2
    assert f"No source '{other}' in followed; `sightline sources list -c followed` lists them." in failed.output


def test_the_state_says_the_re_scan_period_when_there_is_one() -> None:
    from sightline.cli.commands.sources import state_text

    source = {"state": "offline", "offline_reason": "folder missing", "rescan_minutes": 60}
    assert state_text(source) == "offline (folder missing)\nre-scan every 60 min"
    assert state_text({**source, "state": "idle", "offline_reason": None, "rescan_minutes": 0}) == "idle"
