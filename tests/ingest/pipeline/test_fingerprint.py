"""Stage 1: stat, unchanged detection, hashing and reuse of known content (real edge store, real files)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from sightline.imaging import read_metadata
from sightline.ingest.pipeline import point_id_for
from sightline.ingest.pipeline.fingerprint import Fingerprinter
from sightline.ingest.pipeline.work import Embedding
from sightline.ingest.vectors import Point, VectorStore
from tests.ingest.pipeline.conftest import COLLECTION, FAKE_MODEL, FAKE_VECTOR, create_collection, record
from tests.samples import distinct_image

PROVENANCE = {"embedding_model": "fake-clip", "caption_model": None, "caption_kind": "none", "device": "cpu"}


@pytest.fixture
def fingerprinter(vectors: VectorStore, tmp_path: Path) -> Fingerprinter:
    create_collection(vectors, FAKE_MODEL)
    return Fingerprinter(vectors, COLLECTION, FAKE_MODEL, max_bytes=100_000, known={}, roots=[tmp_path])


def image(folder: Path, name: str, seed: int) -> Path:
    """Each test its own seed: the tests of this module share one collection, where content is looked up."""
    path = folder / name
    path.write_bytes(distinct_image(seed, fmt="JPEG"))
    return path


def store_point_for(vectors: VectorStore, path: Path, **payload) -> None:
    stat = path.stat()
    vectors.upsert(COLLECTION, [Point(point_id_for(COLLECTION, str(path)), FAKE_VECTOR, {
        "bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns, "embedding_model": "fake-clip", **payload,
    })])


def test_files_that_cannot_be_read_fail(fingerprinter: Fingerprinter, tmp_path: Path) -> None:
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "big.jpg").write_bytes(b"x" * 100_001)
    os.mkfifo(tmp_path / "pipe.jpg")
    works = fingerprinter.fingerprint([record(tmp_path / name) for name in ("gone.jpg", "empty.jpg", "big.jpg",
                                                                          "pipe.jpg")])
    assert [work.error for work in works] == [
        ("read", "FILE_UNREADABLE", "cannot read the file: No such file or directory"),
        ("read", "FILE_EMPTY", "the file is empty (0 bytes)"),
        ("read", "FILE_TOO_LARGE", "the file has 100001 bytes; the limit is 100000"),
        ("read", "FILE_UNREADABLE", "not a regular file"),
    ]


def test_a_new_file_is_read_hashed_and_described(fingerprinter: Fingerprinter, tmp_path: Path) -> None:
    path = image(tmp_path, "a.jpg", 11)
    data = path.read_bytes()
    [work] = fingerprinter.fingerprint([record(path)])
    assert (work.state, work.point_id, work.data, work.size, work.mtime_ns, work.sha256, work.metadata) == (
        "pending", point_id_for(COLLECTION, str(path)), data, len(data), path.stat().st_mtime_ns,
        hashlib.sha256(data).hexdigest(), read_metadata(data).to_payload(),
    )


def test_an_unchanged_file_is_skipped(fingerprinter: Fingerprinter, vectors: VectorStore, tmp_path: Path) -> None:
    path = image(tmp_path, "a.jpg", 12)
    store_point_for(vectors, path, sha256="known-hash")
    [work] = fingerprinter.fingerprint([record(path)])
    assert (work.state, work.sha256, work.data) == ("skipped", "known-hash", None)


def test_a_file_its_own_job_stored_before_a_stop_counts_as_embedded(vectors: VectorStore, tmp_path: Path) -> None:
    create_collection(vectors, FAKE_MODEL)
    resumed = Fingerprinter(vectors, COLLECTION, FAKE_MODEL, max_bytes=100_000, known={}, roots=[tmp_path],
                            job_id="job-1")
    mine, theirs = image(tmp_path, "mine.jpg", 40), image(tmp_path, "theirs.jpg", 41)
    store_point_for(vectors, mine, sha256="mine-hash", job_id="job-1")
    store_point_for(vectors, theirs, sha256="their-hash", job_id="job-0")
    works = resumed.fingerprint([record(mine), record(theirs)])
    assert [(work.state, work.sha256, work.ready) for work in works] == [
        ("done", "mine-hash", False), ("skipped", "their-hash", False)]


def test_a_modified_file_is_read_again(fingerprinter: Fingerprinter, vectors: VectorStore, tmp_path: Path) -> None:
    path = image(tmp_path, "a.jpg", 13)
    store_point_for(vectors, path, bytes=1)
    assert fingerprinter.fingerprint([record(path)])[0].state == "pending"


def test_a_file_stored_by_another_model_is_read_again(
    fingerprinter: Fingerprinter, vectors: VectorStore, tmp_path: Path
) -> None:
    path = image(tmp_path, "a.jpg", 14)
    store_point_for(vectors, path, embedding_model="another-model")
    assert fingerprinter.fingerprint([record(path)])[0].state == "pending"


def test_same_content_twice_in_a_batch_is_sent_once(fingerprinter: Fingerprinter, tmp_path: Path) -> None:
    first, copy = image(tmp_path, "a.jpg", 15), image(tmp_path, "copy.jpg", 15)
    works = fingerprinter.fingerprint([record(first), record(copy)])
    assert (works[1].reuse_of, works[1].data, works[0].reuse_of) == (works[0], None, None)


def test_content_embedded_earlier_in_the_run_is_reused(fingerprinter: Fingerprinter, tmp_path: Path) -> None:
    path = image(tmp_path, "a.jpg", 16)
    known = Embedding(FAKE_VECTOR, "a cat", PROVENANCE)
    fingerprinter.known[hashlib.sha256(path.read_bytes()).hexdigest()] = known
    [work] = fingerprinter.fingerprint([record(path)])
    assert (work.state, work.embedding) == ("cached", known)


def test_content_stored_by_the_same_model_is_reused(
    fingerprinter: Fingerprinter, vectors: VectorStore, tmp_path: Path
) -> None:
    original, copy = image(tmp_path, "a.jpg", 17), image(tmp_path, "copy.jpg", 17)
    sha256 = hashlib.sha256(original.read_bytes()).hexdigest()
    store_point_for(vectors, original, sha256=sha256, caption="a cat", caption_kind="none", device="cpu")
    [work] = fingerprinter.fingerprint([record(copy)])
    assert (work.state, work.embedding) == ("cached", Embedding(FAKE_VECTOR, "a cat", PROVENANCE))


def test_content_stored_by_another_model_is_embedded_again(
    fingerprinter: Fingerprinter, vectors: VectorStore, tmp_path: Path
) -> None:
    original, copy = image(tmp_path, "a.jpg", 18), image(tmp_path, "copy.jpg", 18)
    sha256 = hashlib.sha256(original.read_bytes()).hexdigest()
    store_point_for(vectors, original, sha256=sha256, embedding_model="another-model")
    assert fingerprinter.fingerprint([record(copy)])[0].state == "pending"


def test_links_swapped_in_after_the_scan_fail_their_file_alone(
    fingerprinter: Fingerprinter, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    root, outside = tmp_path, tmp_path_factory.mktemp("outside")  # the fingerprinter's root is tmp_path
    (root / "sub").mkdir()
    scanned = [image(root, "kept.jpg", 40), image(root, "swapped.jpg", 41), image(root / "sub", "a.jpg", 42)]
    image(outside, "secret.jpg", 43)
    image(outside, "a.jpg", 44)
    scanned[1].unlink()
    scanned[1].symlink_to(outside / "secret.jpg")  # the file itself
    for path in (root / "sub" / "a.jpg", root / "sub"):
        path.unlink() if path.is_file() else path.rmdir()
    (root / "sub").symlink_to(outside)  # a folder on its way
    works = fingerprinter.fingerprint([record(path) for path in scanned])
    assert [(work.state, work.error and work.error[1]) for work in works] == [
        ("pending", None), ("failed", "FORBIDDEN"), ("failed", "FORBIDDEN")
    ]
    assert works[2].error[2] == f"refused to read {scanned[2]}: it now leads outside the ingest roots"
