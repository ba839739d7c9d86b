"""Listing a source's folder (real files) and planning a sync against what is stored."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sightline.ingest.sources.listing import Excludes, FileStat, Listing, list_source
from sightline.ingest.sources.sync import offline_reason, plan


def touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_lists_images_only_skips_hidden_links_and_excluded(tmp_path: Path) -> None:
    kept = touch(tmp_path / "a" / "b.JPG")
    touch(tmp_path / "notes.txt")
    touch(tmp_path / ".hidden" / "c.jpg")
    touch(tmp_path / "x" / "@eaDir" / "d.jpg")
    os.symlink(kept, tmp_path / "link.jpg")
    listing = list_source(str(tmp_path), Excludes(["@eaDir"]))
    assert set(listing.files) == {str(kept)}
    assert (listing.excluded, listing.links) == (1, 1)
    assert listing.files[str(kept)] == FileStat(1, kept.stat().st_mtime_ns)


@pytest.mark.parametrize("pattern, relative, name, excluded", [
    ("*.tmp.jpg", "/a/b.tmp.jpg", "b.tmp.jpg", True),
    ("**/@eaDir/**", "/a/@eaDir/", "@eaDir", True),
    ("**/@eaDir/**", "/@eaDir/", "@eaDir", True),
    ("/raw/*", "/raw/x/y.jpg", "y.jpg", True),
    ("raw/*", "/raw/y.jpg", "y.jpg", True),
    ("/raw/*", "/cooked/raw/y.jpg", "y.jpg", False),
    ("@eaDir", "/a/eaDir/", "eaDir", False),
])
def test_exclude_globs(pattern: str, relative: str, name: str, excluded: bool) -> None:
    assert Excludes([pattern]).match(name, relative) is excluded


@pytest.mark.parametrize("patterns, relative, covered", [
    (["@eaDir"], "/x/@eaDir/b.jpg", True),
    (["**/@eaDir/**"], "/x/@eaDir/b.jpg", True),
    (["/raw/*"], "/raw/y.jpg", True),
    (["@eaDir"], "/x/eaDir/b.jpg", False),
    ([], "/x/@eaDir/b.jpg", False),
])
def test_a_file_is_covered_by_its_folders_excludes(patterns: list[str], relative: str, covered: bool) -> None:
    assert Excludes(patterns).covers(relative) is covered


def test_an_unreadable_folder_is_reported(tmp_path: Path) -> None:
    listing = list_source(str(tmp_path / "missing"), Excludes([]))
    assert listing.unreadable == [str(tmp_path / "missing")]


def test_plan_sorts_files_into_unchanged_changed_new_young_and_vanished() -> None:
    now = 10**18
    listing = Listing(files={"/s/same.jpg": FileStat(1, 5), "/s/edited.jpg": FileStat(2, 6),
                             "/s/new.jpg": FileStat(3, 7), "/s/young.jpg": FileStat(4, now - 10**8)})
    stored = {"/s/same.jpg": (1, 5), "/s/edited.jpg": (2, 5), "/s/gone.jpg": (9, 9)}
    result = plan(listing, stored, settle_s=1.0, now_ns=now)
    assert [path for path, _, _ in result.pending] == ["/s/edited.jpg", "/s/new.jpg"]
    assert (result.unchanged, result.young, list(result.vanished)) == (1, 1, ["/s/gone.jpg"])


def test_points_under_an_unreadable_folder_are_not_vanished() -> None:
    listing = Listing(files={"/s/a.jpg": FileStat(1, 1)}, unreadable=["/s/locked"])
    stored = {"/s/locked/b.jpg": (1, 1), "/s/locked/deep/c.jpg": (1, 1)}
    assert plan(listing, stored, settle_s=1.0, now_ns=10**18).vanished == []


def test_a_removed_file_is_kept_out_while_unchanged_and_forgotten_once_gone() -> None:
    listing = Listing(files={"/s/kept-out.jpg": FileStat(1, 5), "/s/edited.jpg": FileStat(2, 6)})
    removed = {"/s/kept-out.jpg": (1, 5), "/s/edited.jpg": (2, 5), "/s/gone.jpg": (3, 3)}
    result = plan(listing, {}, settle_s=0.0, now_ns=10**18, removed=removed)
    assert [path for path, _, _ in result.pending] == ["/s/edited.jpg"]
    assert (result.kept_out, result.unchanged, result.forgotten) == (1, 0, ["/s/gone.jpg"])


def test_a_file_that_failed_is_left_out_while_unchanged_and_forgotten_once_gone_or_stored() -> None:
    listing = Listing(files={"/s/bad.jpg": FileStat(1, 5_000_000_000), "/s/edited.jpg": FileStat(2, 6_000_000_000),
                             "/s/stored.jpg": FileStat(3, 7)})
    failed = {"/s/bad.jpg": (1, 5.0), "/s/edited.jpg": (2, 5.0), "/s/gone.jpg": (3, 3.0),
              "/s/stored.jpg": (3, 7e-9), "/s/locked/b.jpg": (1, 1.0)}
    listing.unreadable = ["/s/locked"]
    result = plan(listing, {"/s/stored.jpg": (3, 7)}, settle_s=0.0, now_ns=10**19, failed=failed)
    assert [path for path, _, _ in result.pending] == ["/s/edited.jpg"]
    assert (result.known_bad, result.unchanged) == (1, 1)
    assert sorted(result.unfailed) == ["/s/gone.jpg", "/s/stored.jpg"]


def test_offline_reasons() -> None:
    assert "missing" in offline_reason("/s", None, 0)
    assert "cannot be read" in offline_reason("/s", Listing(unreadable=["/s"]), 0)
    assert "empty" in offline_reason("/s", Listing(), 3)
    assert offline_reason("/s", Listing(), 0) is None
