"""The watcher's own rules, on real folders: what a folder looks like, which paths it ignores, and polling
when change notifications cannot be had."""

from __future__ import annotations

import time
from pathlib import Path

from sightline.ingest.sources import watcher
from sightline.ingest.sources.models import Source
from sightline.ingest.sources.watcher import Watch, folder_state
from tests.ingest.api.helpers import settings_for


def source(path: Path, exclude: list[str] | None = None) -> Source:
    return Source("s1", "photos", str(path), True, exclude or [], 0, None, "now", None, None)


def test_folder_states(tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "a.jpg").write_bytes(b"x")
    (tmp_path / "empty").mkdir()
    assert [folder_state(str(tmp_path / name)) for name in ("full", "empty", "missing")] == [
        "ok", "empty", "missing"]


def test_hidden_and_excluded_paths_are_not_watched(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, tmp_path)
    watch = Watch(source(tmp_path, ["@eaDir"]), settings, request_sync=None)  # type: ignore[arg-type]
    assert watch.wanted(None, str(tmp_path / "a" / "b.jpg"))  # type: ignore[arg-type]
    assert not watch.wanted(None, str(tmp_path / ".trash" / "b.jpg"))  # type: ignore[arg-type]
    assert not watch.wanted(None, str(tmp_path / "x" / "@eaDir" / "b.jpg"))  # type: ignore[arg-type]


async def test_a_watch_that_cannot_use_notifications_polls(tmp_path: Path, monkeypatch) -> None:
    asked: list[bool | None] = []
    real = watcher.awatch

    def awatch(*args, force_polling=None, **kwargs):
        asked.append(force_polling)
        if not force_polling:
            raise OSError("OS file watch limit reached")
        return real(*args, force_polling=force_polling, **kwargs)

    monkeypatch.setattr(watcher, "awatch", awatch)
    settings = settings_for(tmp_path, tmp_path, source_settle_seconds=0.05, source_poll_ms=20)
    watch = Watch(source(tmp_path), settings, request_sync=None)  # type: ignore[arg-type]
    ended = await watch.run(until=time.monotonic())
    assert (ended, asked) == ("rescan", [None, True])
