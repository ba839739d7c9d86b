"""Stage 1, the reader (a worker thread): stat every file of a batch, set the unchanged ones aside, read and
hash the rest, and find content that is already embedded so that it is reused instead of embedded again."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_ISLNK, S_ISREG
from typing import Any

from sightline.errors import ErrorCode, SightlineError
from sightline.imaging import read_metadata
from sightline.ingest.jobdb import FileRecord
from sightline.ingest.model_match import made_by
from sightline.ingest.paths import fs_path, open_confined, read_at_most
from sightline.ingest.pipeline.payload import same_file, stored_embedding
from sightline.ingest.pipeline.work import Embedding, FileWork, point_id_for
from sightline.ingest.vectors import SearchFilters, VectorStore


@dataclass
class Fingerprinter:
    """`known` (content hash → embedding) is shared with the embed stage: it fills it as results come in.

    Files are opened without following links and only inside `roots` (`paths.open_confined`): a link swapped in
    after the scan fails that file alone (`FORBIDDEN`). A point that `job_id` itself stored, before a stop it
    resumes from, counts as embedded, not as unchanged."""

    vectors: VectorStore
    collection: str
    capabilities: dict[str, Any]
    max_bytes: int
    known: dict[str, Embedding]
    roots: Sequence[Path] = field(kw_only=True)
    job_id: str | None = field(default=None, kw_only=True)

    def fingerprint(self, records: list[FileRecord]) -> list[FileWork]:
        works = [FileWork(record, point_id_for(self.collection, record.path)) for record in records]
        for work in works:
            self._stat(work)
        self._mark_unchanged(works)
        first_with: dict[str, FileWork] = {}  # content hash → the batch's first file with that content
        for work in works:
            if work.state == "pending":
                self._read(work)
            if work.state == "pending":
                self._find_same_content(work, first_with)
        return works

    def _stat(self, work: FileWork) -> None:
        try:
            stat = os.lstat(fs_path(work.record.path))
        except OSError as exc:
            work.fail("read", ErrorCode.FILE_UNREADABLE, f"cannot read the file: {exc.strerror or exc}")
            return
        work.size, work.mtime_ns = stat.st_size, stat.st_mtime_ns
        if S_ISLNK(stat.st_mode):  # the scan recorded the real path: a link there was swapped in since
            work.fail("read", ErrorCode.FORBIDDEN, "refused to read it: it has become a symbolic link since the scan")
        elif not S_ISREG(stat.st_mode):  # a FIFO or device would block or stream forever
            work.fail("read", ErrorCode.FILE_UNREADABLE, "not a regular file")
        elif stat.st_size == 0:
            work.fail("read", ErrorCode.FILE_EMPTY, "the file is empty (0 bytes)")
        elif stat.st_size > self.max_bytes:
            work.fail("read", ErrorCode.FILE_TOO_LARGE,
                      f"the file has {stat.st_size} bytes; the limit is {self.max_bytes}")

    def _mark_unchanged(self, works: list[FileWork]) -> None:
        candidates = {work.point_id: work for work in works if work.state == "pending"}
        if not candidates:
            return
        for point in self.vectors.retrieve(self.collection, list(candidates)):
            work = candidates[point.id]
            if same_file(point.payload, work) and made_by(point.payload, self.capabilities):
                stored_by_this_job = self.job_id is not None and point.payload.get("job_id") == self.job_id
                work.state = "done" if stored_by_this_job else "skipped"
                work.sha256 = point.payload.get("sha256")

    def _read(self, work: FileWork) -> None:
        try:
            with open_confined(work.record.path, self.roots) as handle:
                work.data = read_at_most(handle, self.max_bytes)
        except SightlineError as exc:
            work.fail("read", exc.code, exc.message)
            return
        except OSError as exc:
            work.fail("read", ErrorCode.FILE_UNREADABLE, f"cannot read the file: {exc.strerror or exc}")
            return
        if not work.data:
            work.fail("read", ErrorCode.FILE_EMPTY, "the file is empty (0 bytes)")
            return
        work.sha256 = hashlib.sha256(work.data).hexdigest()
        work.metadata = read_metadata(work.data).to_payload()

    def _find_same_content(self, work: FileWork, first_with: dict[str, FileWork]) -> None:
        assert work.sha256 is not None
        if work.sha256 in first_with:
            work.reuse_of = first_with[work.sha256]
            work.data = None
            return
        known = self.known.get(work.sha256) or self._stored_embedding(work.sha256)
        if known is not None:
            work.reuse(known)
            return
        first_with[work.sha256] = work

    def _stored_embedding(self, sha256: str) -> Embedding | None:
        """The embedding of a point of the collection with this content, made by the current model."""
        points, _ = self.vectors.scroll(
            self.collection, limit=1, filters=SearchFilters(sha256=sha256), with_vectors=True
        )
        if not points or not made_by(points[0].payload, self.capabilities):
            return None
        return stored_embedding(points[0])
