"""Batches by count and by bytes, from the limits the ML service reports in `/api/v1/capabilities`.

`max_batch_size` (files per request) and `max_request_bytes` (the whole request) come from the ML service;
our own `ml_batch_size` may only lower the count. Files are grouped in order: a group ends before the file that
would take it over either limit. Pending files are planned by the sizes the scan recorded (this bounds the
bytes of the batches in flight: `batches_in_flight` × the request budget); the files read are grouped again by
their real sizes before they are sent, so a request never goes over the limit even if files grew. A file over
the limit on its own (or over `max_image_bytes`, or our `max_upload_bytes`) is that file's `FILE_TOO_LARGE`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from sightline.config import IngestSettings
from sightline.humanize import size

MAX_BATCH = 32  # files per batch when neither we nor the ML service say
REQUEST_OVERHEAD_BYTES = 64 * 1024  # the form fields and envelope of one multipart request
PART_OVERHEAD_BYTES = 1024  # the part headers of one file (its name included)

T = TypeVar("T")


@dataclass(frozen=True)
class BatchLimits:
    files: int  # most files per request
    request_bytes: int | None  # most file bytes (with their part headers) per request; None: no limit
    file_bytes: int  # largest single file

    @classmethod
    def from_capabilities(cls, capabilities: dict[str, Any], settings: IngestSettings) -> BatchLimits:
        configured = settings.ml_batch_size or MAX_BATCH
        files = max(1, min(configured, int(capabilities.get("max_batch_size") or configured)))
        request = capabilities.get("max_request_bytes")
        budget = max(1, int(request) - REQUEST_OVERHEAD_BYTES) if request else None
        file_limits = [settings.max_upload_bytes, capabilities.get("max_image_bytes"),
                       budget - PART_OVERHEAD_BYTES if budget else None]
        return cls(files, budget, max(1, min(int(limit) for limit in file_limits if limit)))

    def groups(self, items: Iterable[T], size_of: Callable[[T], int | None]) -> Iterator[list[T]]:
        """`items` in order, in groups within both limits; an item over `file_bytes` costs nothing here (it
        fails before it is sent)."""
        group: list[T] = []
        used = 0
        for item in items:
            size = size_of(item) or 0
            cost = size + PART_OVERHEAD_BYTES if size <= self.file_bytes else 0
            if group and (len(group) >= self.files or (self.request_bytes and used + cost > self.request_bytes)):
                yield group
                group, used = [], 0
            group.append(item)
            used += cost
        if group:
            yield group

    def describe(self) -> str:
        by_bytes = f" and {size(self.request_bytes)}" if self.request_bytes else ""
        return f"batches of up to {self.files} files{by_bytes}"
