"""Paths: the text form of names that are not UTF-8, iterative scans, and confinement at read time."""

from __future__ import annotations

import inspect
import os
import sys
from pathlib import Path

import pytest

from sightline.errors import SightlineError
from sightline.ingest.paths import (
    ScanReport,
    confine,
    fs_path,
    open_confined,
    path_text,
    read_at_most,
    scan_folder,
)

BAD = os.fsdecode(b"bad\xfe.jpg")  # the lone surrogate U+DCFE stands for the byte 0xFE


@pytest.mark.parametrize("name", [
    "plain.jpg", BAD, "caf\u00e9.jpg", "back\\slash.jpg", "lit\\xfe.jpg", "lit\\x5c.jpg", "\\" + BAD, "end\\",
    os.fsdecode(b"\xff\xfe\x80"), os.fsdecode(b"\\\xfe"), "a\\x41",
])
def test_the_text_form_is_valid_utf8_and_lossless(name: str) -> None:
    text = path_text(name)
    text.encode("utf-8")  # no lone surrogates: storable in SQLite, JSON and the vector store
    assert fs_path(text) == name


def test_names_that_are_utf8_keep_their_text() -> None:
    assert (path_text("/photos/caf\u00e9/a.jpg"), path_text(BAD)) == ("/photos/caf\u00e9/a.jpg", "bad\\xfe.jpg")


def test_a_scan_lists_a_name_that_is_not_utf8_in_its_text_form(tmp_path: Path) -> None:
    (tmp_path / "good.jpg").write_bytes(b"x")
    (tmp_path / BAD).write_bytes(b"y")
    found = [path for path, _, _ in scan_folder(tmp_path, [tmp_path], recursive=True, report=ScanReport())]
    assert found == [str(tmp_path / "bad\\xfe.jpg"), str(tmp_path / "good.jpg")]
    assert confine(found[0], [tmp_path]) == tmp_path / BAD  # the text form leads back to the file


def test_a_tree_deeper_than_the_recursion_limit_is_scanned(tmp_path: Path) -> None:
    """300 levels under a recursion limit 150 above this frame: as a tree deeper than 1000 levels under the
    default limit, without leaving a tree that recursive clean-ups (pytest's rmtree) cannot remove."""
    deepest = tmp_path.joinpath(*["d"] * 300)
    deepest.mkdir(parents=True)
    (deepest / "deep.jpg").write_bytes(b"x")
    report = ScanReport()
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack(0)) + 150)
    try:
        found = [path for path, _, _ in scan_folder(tmp_path, [tmp_path], recursive=True, report=report)]
    finally:
        sys.setrecursionlimit(limit)
    assert (found, report.unreadable) == ([str(deepest / "deep.jpg")], [])


def test_a_scan_lists_files_before_sub_folders_in_name_order(tmp_path: Path) -> None:
    for rel in ("b/z.jpg", "a/y.jpg", "x.jpg", "a/c/w.jpg", ".h/v.jpg", "notes.txt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    (tmp_path / "link").symlink_to(tmp_path / "a")  # a linked folder is not entered twice
    report = ScanReport()
    found = [Path(path).relative_to(tmp_path).as_posix()
             for path, _, _ in scan_folder(tmp_path, [tmp_path], recursive=True, report=report)]
    assert (found, report.hidden, report.ignored) == (["x.jpg", "a/y.jpg", "a/c/w.jpg", "b/z.jpg"], 1, 1)
    flat = [p for p, _, _ in scan_folder(tmp_path, [tmp_path], recursive=False, report=ScanReport())]
    assert flat == [str(tmp_path / "x.jpg")]


def test_open_confined_reads_a_file_inside_the_roots(tmp_path: Path) -> None:
    (tmp_path / BAD).write_bytes(b"inside")
    with open_confined(path_text(str(tmp_path / BAD)), [tmp_path]) as handle:
        assert handle.read() == b"inside"


def test_a_link_swapped_in_after_the_scan_is_refused(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "sub").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.jpg").write_bytes(b"secret")
    (root / "sub" / "a.jpg").write_bytes(b"mine")
    (root / "b.jpg").write_bytes(b"mine")
    scanned = [p for p, _, _ in scan_folder(root, [root], recursive=True, report=ScanReport())]
    (root / "b.jpg").unlink()
    (root / "b.jpg").symlink_to(outside / "secret.jpg")  # the last component swapped
    (root / "sub" / "a.jpg").unlink()
    (root / "sub").rmdir()
    (root / "sub").symlink_to(outside)  # a folder on the way swapped
    (outside / "a.jpg").write_bytes(b"secret")
    for path in scanned:
        with pytest.raises(SightlineError) as caught:
            open_confined(path, [root])
        assert (caught.value.code, caught.value.status) == ("FORBIDDEN", 403)


@pytest.mark.parametrize(("size", "limit", "read"), [(10, 100, 10), (100, 100, 100), (101, 100, 101), (5000, 100, 101)])
def test_read_at_most_reads_the_file_and_one_byte_over_the_limit(tmp_path: Path, size: int, limit: int,
                                                                   read: int) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(os.urandom(size))
    with open(path, "rb") as handle:
        assert read_at_most(handle, limit) == path.read_bytes()[:read]


def test_read_at_most_reads_on_a_file_that_grew_after_it_was_sized(tmp_path: Path) -> None:
    path = tmp_path / "growing.bin"
    path.write_bytes(b"a" * 10)

    class GrowsOnFirstRead:
        def __init__(self, handle):
            self.handle, self.grown = handle, False

        def fileno(self) -> int:
            return self.handle.fileno()

        def read(self, size: int) -> bytes:
            if not self.grown:
                self.grown = True
                with open(path, "ab") as more:
                    more.write(b"b" * 20)
            return self.handle.read(size)

    with open(path, "rb") as handle:
        assert read_at_most(GrowsOnFirstRead(handle), 25) == b"a" * 10 + b"b" * 16


def test_a_relative_path_is_asked_in_full_not_called_outside_the_roots(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path.parent)  # the service's own folder, which a relative path would resolve from
    with pytest.raises(SightlineError) as asked:
        confine("relative/path", [tmp_path], where="path")
    assert (asked.value.code, asked.value.status, asked.value.where) == ("VALIDATION_ERROR", 422, "path")
    assert asked.value.message == f"relative/path is not a full path: give the folder from the top, inside the " \
        f"ingest roots ({tmp_path})."
    with pytest.raises(SightlineError, match="is outside the ingest roots"):
        confine("/etc", [tmp_path])
