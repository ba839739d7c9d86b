"""Point ids and what one file carries between stages."""

from __future__ import annotations

import uuid

from sightline.ingest.pipeline import point_id_for
from sightline.ingest.pipeline.work import Embedding, FileWork
from tests.ingest.pipeline.conftest import record


def test_point_id_is_stable_per_collection_and_path() -> None:
    assert point_id_for("photos", "/a.jpg") == point_id_for("photos", "/a.jpg")


def test_point_id_differs_by_collection() -> None:
    assert point_id_for("photos", "/a.jpg") != point_id_for("other", "/a.jpg")


def test_point_id_is_a_uuid() -> None:
    assert str(uuid.UUID(point_id_for("photos", "/a.jpg"))) == point_id_for("photos", "/a.jpg")


def test_a_failed_file_drops_its_bytes() -> None:
    work = FileWork(record("/a.jpg"), "id", data=b"bytes")
    work.fail("read", "FILE_EMPTY", "empty")
    assert (work.state, work.error, work.data, work.ready) == ("failed", ("read", "FILE_EMPTY", "empty"), None, False)


def test_a_reused_file_is_cached_and_ready() -> None:
    embedding = Embedding([1.0], "a cat", {"embedding_model": "m"})
    work = FileWork(record("/a.jpg"), "id", data=b"bytes")
    work.reuse(embedding)
    assert (work.state, work.embedding, work.data, work.ready) == ("cached", embedding, None, True)


def test_recent_content_keeps_only_the_latest_entries() -> None:
    from sightline.ingest.pipeline.work import RecentContent

    recent = RecentContent(2)
    for key in "abc":
        recent[key] = Embedding([0.0], None, {})
    assert list(recent) == ["b", "c"]
    recent["b"] = Embedding([1.0], None, {})  # written again: the newest
    recent["d"] = Embedding([0.0], None, {})
    assert list(recent) == ["b", "d"]
