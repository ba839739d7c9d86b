"""Uploads, streamed from the multipart body straight to disk: the per-file limit and the free space are met while
the bytes arrive, into a hidden staging folder under the uploads dir that becomes the job's folder only once
every file is stored. A file over the limit (413 `FILE_TOO_LARGE`), a full disk (507 `DISK_FULL`) or a broken
body leaves nothing behind, and no job is created for it."""

from __future__ import annotations

import errno
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import python_multipart
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import parse_options_header

from sightline.errors import ErrorCode, SightlineError
from sightline.ingest.disk import check_free
from sightline.ingest.paths import safe_upload_name

MAX_FIELD_BYTES = 64 * 1024
STAGING_PREFIX = ".incoming-"


@dataclass
class StoredFile:
    sent_name: str  # as the client named it (where errors point)
    path: Path
    size: int = 0


@dataclass
class _Part:
    disposition: bytes = b""
    header_name: bytes = b""
    header_value: bytes = b""
    name: str = ""
    file: StoredFile | None = None
    out: BinaryIO | None = None
    data: bytearray = field(default_factory=bytearray)


@contextmanager
def disk_errors(where: str) -> Iterator[None]:
    """An OSError of a full disk (or quota) as the structured `DISK_FULL`; other OSErrors as they are."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        raise SightlineError(ErrorCode.DISK_FULL, f"The disk filled up while storing {where}; nothing of this "
                             "upload was kept. Free some space and send it again.", where=where, status=507) from None


def _refuse(code: ErrorCode, message: str, where: str, status: int) -> SightlineError:
    return SightlineError(code, message, where=where, status=status)


class UploadReceiver:
    """Parses one multipart body (fed chunk by chunk, from a worker thread) into `fields` and `files`."""

    def __init__(self, content_type: str, staging: Path, *, max_file_bytes: int, max_files: int):
        kind, options = parse_options_header(content_type)
        if kind != b"multipart/form-data" or not options.get(b"boundary"):
            raise _refuse(ErrorCode.VALIDATION_ERROR, "Send the files as multipart/form-data.", "body", 422)
        self.staging, self.max_file_bytes, self.max_files = staging, max_file_bytes, max_files
        self.fields: dict[str, str] = {}
        self.files: list[StoredFile] = []
        self._opened = 0
        self._taken: set[str] = set()
        self._part = _Part()
        self._parser = python_multipart.MultipartParser(options[b"boundary"], {
            "on_part_begin": self._begin, "on_header_field": self._header_field,
            "on_header_value": self._header_value, "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished, "on_part_data": self._data, "on_part_end": self._end,
        })

    def feed(self, chunk: bytes) -> None:
        try:
            self._parser.write(chunk)
        except FormParserError:
            raise _refuse(ErrorCode.VALIDATION_ERROR, "The multipart body is malformed.", "body", 422) from None

    def finish(self) -> None:
        try:
            self._parser.finalize()
        except FormParserError:
            raise _refuse(ErrorCode.VALIDATION_ERROR, "The multipart body is malformed.", "body", 422) from None
        if self._part.out is not None:
            raise _refuse(ErrorCode.VALIDATION_ERROR, "The multipart body ended inside a file.", "body", 422)

    def close(self) -> None:
        """Closes a file left open by an error (its folder is discarded anyway)."""
        if self._part.out is not None:
            with suppress(OSError):  # e.g. flushing onto the full disk that stopped the upload
                self._part.out.close()
            self._part.out = None

    def _begin(self) -> None:
        self._part = _Part()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._part.header_name += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._part.header_value += data[start:end]

    def _header_end(self) -> None:
        if self._part.header_name.lower() == b"content-disposition":
            self._part.disposition = self._part.header_value
        self._part.header_name = self._part.header_value = b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._part.disposition)
        self._part.name = options.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" not in options:
            return
        self._opened += 1
        if self._opened > self.max_files:
            raise _refuse(ErrorCode.REQUEST_TOO_LARGE, f"At most {self.max_files} files per upload.", "files", 413)
        sent = options[b"filename"].decode("utf-8", "replace")
        stored = StoredFile(sent, self.staging / safe_upload_name(sent, self._taken))
        with disk_errors(sent):
            self._part.out = stored.path.open("xb")
        self._part.file = stored

    def _data(self, data: bytes, start: int, end: int) -> None:
        part, size = self._part, end - start
        if part.out is None:
            if len(part.data) + size > MAX_FIELD_BYTES:
                raise _refuse(ErrorCode.REQUEST_TOO_LARGE, "A form field is too long.", part.name or "body", 413)
            part.data += data[start:end]
            return
        assert part.file is not None
        part.file.size += size
        if part.file.size > self.max_file_bytes:
            raise _refuse(ErrorCode.FILE_TOO_LARGE, f"{part.file.sent_name} is larger than the "
                          f"{self.max_file_bytes // (1024 * 1024)} MiB limit per file.", part.file.sent_name, 413)
        with disk_errors(part.file.sent_name):
            part.out.write(data[start:end])

    def _end(self) -> None:
        part = self._part
        if part.out is None:
            self.fields.setdefault(part.name, part.data.decode("utf-8", "replace"))
            return
        assert part.file is not None
        with disk_errors(part.file.sent_name):
            part.out.close()
        part.out = None
        if part.name == "files":
            self.files.append(part.file)
        else:
            part.file.path.unlink()


def new_staging_folder(uploads_dir: Path, announced_bytes: int) -> Path:
    """A fresh hidden folder under the uploads dir, once the announced body fits on its disk."""
    uploads_dir.mkdir(parents=True, exist_ok=True)
    check_free(uploads_dir, announced_bytes)
    staging = uploads_dir / f"{STAGING_PREFIX}{secrets.token_hex(8)}"
    with disk_errors("files"):
        staging.mkdir()
    return staging


def discard(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)



def discard_unfinished(uploads_dir: Path) -> int:
    """Remove the staging folders of uploads a killed process left behind (none of them made a job)."""
    leftovers = list(uploads_dir.glob(f"{STAGING_PREFIX}*"))
    for folder in leftovers:
        discard(folder)
    return len(leftovers)
