"""The multipart body of `/embed_images`, parsed as it arrives.

Starlette's form parser spools every part over 1 MB to a temporary file and hands the route the form only
once the whole body is in: a 3 MB photo cost ~10 ms of CPU there, and decoding could not start before the
last byte. Here python-multipart's streaming parser keeps each image in memory (at most `max_image_bytes`
of it: the rest of a larger one is dropped, and the image answered FILE_TOO_LARGE) and yields it the moment
its part ends, so decoding overlaps the upload. The limits of the form parser stay: non-file fields of at
most 1 MB, at most 1,000 of them, at most `max_files` files.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass

from fastapi import Request
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from sightline.errors import ErrorCode, SightlineError

IMAGE_FIELD = "images"
MAX_FIELD_BYTES = 1024 * 1024  # Starlette's max_part_size for non-file fields
MAX_FIELDS = 1000  # Starlette's max_fields


@dataclass
class ImagePart:
    filename: str | None
    data: bytes
    too_large: bool  # over max_image_bytes: `data` holds only its first bytes


@dataclass
class FieldPart:
    name: str
    value: str


Part = ImagePart | FieldPart


class _Collector:
    """python-multipart callbacks that turn parts into `Part`s, bounded as they grow."""

    def __init__(self, max_image_bytes: int, max_files: int):
        self.max_image_bytes = max_image_bytes
        self.max_files = max_files
        self.done: deque[Part] = deque()
        self.files = 0
        self.fields = 0
        self.ended = False
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._disposition = b""
        self._name = ""
        self._filename: str | None = None
        self._limit = MAX_FIELD_BYTES
        self._pieces: list[memoryview] = []  # views of the received chunks: one copy, at the part's end
        self._size = 0
        self._dropped = False

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self._begin,
            "on_header_field": lambda data, start, end: self._header_field.extend(data[start:end]),
            "on_header_value": lambda data, start, end: self._header_value.extend(data[start:end]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._data,
            "on_part_end": self._end,
            "on_end": self._finished,
        }

    def _begin(self) -> None:
        self._disposition = b""
        self._pieces = []
        self._size = 0
        self._dropped = False

    def _header_end(self) -> None:
        if self._header_field.lower() == b"content-disposition":
            self._disposition = bytes(self._header_value)
        self._header_field.clear()
        self._header_value.clear()

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        if b"name" not in options:
            raise SightlineError(ErrorCode.VALIDATION_ERROR, "A multipart part has no name.", where="body",
                                 status=422)
        self._name = options[b"name"].decode("utf-8", "replace")
        filename = options.get(b"filename")
        self._filename = filename.decode("utf-8", "replace") if filename is not None else None
        self._limit = self.max_image_bytes if self._name == IMAGE_FIELD else MAX_FIELD_BYTES

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._dropped:
            return
        if self._size + end - start > self._limit:
            end = start + self._limit - self._size
            self._dropped = True
        self._pieces.append(memoryview(data)[start:end])
        self._size += end - start

    def _end(self) -> None:
        name, filename = self._name, self._filename
        if name == IMAGE_FIELD:
            self.files += 1
            if self.files > self.max_files:
                raise SightlineError(ErrorCode.BATCH_TOO_LARGE,
                                     f"Over {self.max_files} images in one request.", where="images", status=413)
            self.done.append(ImagePart(filename, b"".join(self._pieces), self._dropped))
            return
        self.fields += 1
        if self.fields > MAX_FIELDS:
            raise SightlineError(ErrorCode.VALIDATION_ERROR, f"Over {MAX_FIELDS} form fields.", where="body",
                                 status=413)
        if self._dropped:
            raise SightlineError(ErrorCode.VALIDATION_ERROR, f"The form field exceeds {MAX_FIELD_BYTES} bytes.",
                                 where=name, status=413)
        self.done.append(FieldPart(name, b"".join(self._pieces).decode("utf-8", "replace")))

    def _finished(self) -> None:
        self.ended = True


def _boundary(request: Request) -> bytes:
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise SightlineError(ErrorCode.VALIDATION_ERROR, "The body must be multipart/form-data with a boundary.",
                             where="body", status=422)
    return boundary


async def read_parts(request: Request, *, max_image_bytes: int, max_files: int) -> AsyncIterator[Part]:
    """Each part of the body as soon as it has arrived, in order. Malformed multipart is a 422."""
    collector = _Collector(max_image_bytes, max_files)
    parser = MultipartParser(_boundary(request), collector.callbacks())
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            while collector.done:
                yield collector.done.popleft()
        parser.finalize()
    except MultipartParseError as exc:
        raise SightlineError(ErrorCode.VALIDATION_ERROR, f"Malformed multipart body: {exc}", where="body",
                             status=422) from None
    while collector.done:
        yield collector.done.popleft()
    if not collector.ended:
        raise SightlineError(ErrorCode.VALIDATION_ERROR, "The multipart body ends before its closing boundary.",
                             where="body", status=422)
