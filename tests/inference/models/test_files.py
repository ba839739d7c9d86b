"""Cache files written whole or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from sightline.inference.models._files import atomic_path, file_lock


def test_atomic_path_renames_over_the_destination_on_success(tmp_path: Path) -> None:
    dest = tmp_path / "sub" / "cache.bin"
    with atomic_path(dest) as tmp:
        assert tmp.parent == dest.parent and tmp != dest
        tmp.write_bytes(b"new")
    assert dest.read_bytes() == b"new"
    assert dest.stat().st_mode & 0o777 == 0o644
    assert sorted(p.name for p in dest.parent.iterdir()) == ["cache.bin"]


def test_atomic_path_keeps_the_old_file_when_the_writer_fails(tmp_path: Path) -> None:
    dest = tmp_path / "cache.bin"
    dest.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="half written"):
        with atomic_path(dest) as tmp:
            tmp.write_bytes(b"ne")
            raise RuntimeError("half written")
    assert dest.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache.bin"]


def test_file_lock_is_exclusive_while_held(tmp_path: Path) -> None:
    fcntl = pytest.importorskip("fcntl")
    lock = tmp_path / "deep" / "cache.bin.lock"
    with file_lock(lock), open(lock, "a+b") as other:
        with pytest.raises(BlockingIOError):
            fcntl.flock(other.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    with open(lock, "a+b") as other:
        fcntl.flock(other.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # released
