"""The payload schema of every point."""

from __future__ import annotations

from datetime import datetime, timezone

from sightline.ingest.pipeline.payload import build_payload, camera_name, model_fields, same_file, stored_embedding
from sightline.ingest.pipeline.work import Embedding, FileWork
from sightline.ingest.vectors import Point
from tests.ingest.pipeline.conftest import record

PROVENANCE = {"embedding_model": "clip", "caption_model": "blip", "caption_kind": "generated", "device": "cpu"}


def test_model_fields_keep_only_the_provenance() -> None:
    assert model_fields({**PROVENANCE, "embedding": [1.0], "error": None}) == PROVENANCE


def test_payload_of_a_file() -> None:
    work = FileWork(record("/srv/photos/2024/a.jpg"), "pid", size=10, mtime_ns=7, sha256="h",
                    metadata={"camera_make": "Canon", "camera_model": "EOS R5", "format": "jpeg"},
                    embedding=Embedding([1.0], "a cat", PROVENANCE, "00ff00ff00ff00ff"))
    at = datetime(2024, 5, 1, tzinfo=timezone.utc)
    assert build_payload(work, "photos", "job1", at) == {
        "camera_make": "Canon", "camera_model": "EOS R5", "format": "jpeg",
        "path": "/srv/photos/2024/a.jpg", "folder": "/srv/photos/2024",
        "folder_prefixes": ["/srv/photos/2024", "/srv/photos", "/srv", "/"], "filename": "a.jpg",
        "bytes": 10, "mtime_ns": 7, "sha256": "h", "camera": "Canon EOS R5", "sort_ts": 0.0,
        "date_source": "file", "caption": "a cat", "phash": "00ff00ff00ff00ff", **PROVENANCE,
        "collection": "photos", "job_id": "job1", "ingested_at": "2024-05-01T00:00:00+00:00",
        "words": "srv 2024 cat canon eos r5 5 jfif jpe jpeg jpg",
    }


def test_folder_words_are_relative_to_the_ingest_root() -> None:
    work = FileWork(record("/srv/photos/2019 Kyoto trip/IMG_4411.HEIC"), "pid", size=1, mtime_ns=1,
                    metadata={"format": "heif"}, embedding=Embedding([1.0], None, PROVENANCE))
    payload = build_payload(work, "c", "j", datetime(2024, 1, 1, tzinfo=timezone.utc), roots=["/srv/photos"])
    assert payload["words"].split() == ["2019", "kyoto", "trip", "img", "4411", "heic", "heif", "hif"]


def test_camera_name_does_not_repeat_the_make() -> None:
    assert [camera_name("Canon", "Canon EOS R5"), camera_name("NIKON CORPORATION", "NIKON D750"),
            camera_name("Apple", "iPhone 12"), camera_name(None, "X100V"), camera_name(" ", None)] == [
        "Canon EOS R5", "NIKON D750", "Apple iPhone 12", "X100V", None]


def test_sort_date_is_the_taken_date_when_there_is_one() -> None:
    work = FileWork(record("/a.jpg"), "pid", size=1, mtime_ns=5_000_000_000, metadata={"taken_at_ts": 100.0},
                    embedding=Embedding([1.0], None, PROVENANCE))
    payload = build_payload(work, "c", "j", datetime(2024, 1, 1, tzinfo=timezone.utc))
    assert (payload["sort_ts"], payload["date_source"]) == (100.0, "taken")


def test_same_file_compares_size_and_modification_time() -> None:
    work = FileWork(record("/a.jpg"), "pid", size=10, mtime_ns=7)
    assert [same_file({"bytes": 10, "mtime_ns": 7}, work), same_file({"bytes": 10, "mtime_ns": 8}, work)] == [
        True, False
    ]


def test_stored_embedding_of_a_point() -> None:
    point = Point("pid", [0.0, 1.0], {"caption": "a dog", **PROVENANCE, "path": "/b.jpg", "phash": "0123456789abcdef"})
    assert stored_embedding(point) == Embedding([0.0, 1.0], "a dog", PROVENANCE, "0123456789abcdef")


def test_a_point_without_vector_has_no_embedding() -> None:
    assert stored_embedding(Point("pid", None, {})) is None


def test_the_sort_date_is_kept_to_the_millisecond() -> None:
    work = FileWork(record("/a.jpg"), "pid", size=1, mtime_ns=1_764_165_600_123_456_789,
                    embedding=Embedding([1.0], None, PROVENANCE))
    payload = build_payload(work, "c", "j", datetime(2024, 1, 1, tzinfo=timezone.utc))
    assert (payload["sort_ts"], payload["date_source"]) == (1_764_165_600.123, "file")
