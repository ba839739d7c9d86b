"""Stable error codes and the error shapes both services answer with.

Every failure is a `SightlineError(code, message, where=, status=)`, raised anywhere and turned into a
structured answer at the edge. Its `ErrorCode` says where in this tree it belongs::

    ErrorCode
    ├── per file / image: an ItemError in an ML batch answer, a JobError row of an ingest job;
    │   the rest of the batch or job goes on
    │   ├── reading   FILE_UNREADABLE (r), FILE_EMPTY, FILE_TOO_LARGE
    │   ├── decoding  UNSUPPORTED_FORMAT, IMAGE_TOO_LARGE, DECODE_FAILED, INVALID_BASE64
    │   ├── model     ML_ITEM_FAILED (r): the model failed on the chunk holding the image
    │   └── storing   STORE_FAILED (r), DISK_FULL (r): the data folder's disk has too little free space
    ├── per job: `Job.error`; the job ends "failed"
    │   ├── ML service   ML_UNAVAILABLE (r), ML_TIMEOUT (r), ML_UNAUTHORIZED
    │   ├── MODEL_MISMATCH: the collection was built with another model than the ML service runs
    │   ├── ALL_FILES_FAILED: not one file could be stored; each file's own error is in the job's errors
    │   ├── SOURCE_OFFLINE: a sync's folder is missing, unreadable or empty; its points are kept
    │   └── INTERNAL_ERROR: a bug
    ├── per request: the HTTP answer `{"error": {"code", "message", "where"}}`
    │   UNAUTHORIZED 401, TOO_MANY_ATTEMPTS 429 (repeated wrong admin tokens: wait Retry-After),
    │   FORBIDDEN 403, NOT_FOUND 404, CONFLICT 409, VALIDATION_ERROR 422,
    │   REQUEST_TOO_LARGE 413, BATCH_TOO_LARGE 413, DISK_FULL 507, MODEL_NOT_READY 503, INTERNAL_ERROR 500,
    │   and the ML and MODEL_MISMATCH codes above when a search needs the ML service
    └── CANCELLED: documented for clients; no code path emits it today

(r) marks the retriable codes: trying the same file again later may succeed. `is_retriable` is the one
place that decides it.
"""

from __future__ import annotations

from datetime import datetime, timezone
from enum import StrEnum

from pydantic import BaseModel, Field


class ErrorCode(StrEnum):
    # Per file / per item.
    UNSUPPORTED_FORMAT = "UNSUPPORTED_FORMAT"
    FILE_UNREADABLE = "FILE_UNREADABLE"
    FILE_EMPTY = "FILE_EMPTY"
    FILE_TOO_LARGE = "FILE_TOO_LARGE"
    IMAGE_TOO_LARGE = "IMAGE_TOO_LARGE"
    DECODE_FAILED = "DECODE_FAILED"
    INVALID_BASE64 = "INVALID_BASE64"
    ML_ITEM_FAILED = "ML_ITEM_FAILED"
    STORE_FAILED = "STORE_FAILED"
    DISK_FULL = "DISK_FULL"
    # Per job (and per request when a search needs the ML service).
    ML_UNAVAILABLE = "ML_UNAVAILABLE"
    ML_TIMEOUT = "ML_TIMEOUT"
    ML_UNAUTHORIZED = "ML_UNAUTHORIZED"
    MODEL_MISMATCH = "MODEL_MISMATCH"
    ALL_FILES_FAILED = "ALL_FILES_FAILED"
    SOURCE_OFFLINE = "SOURCE_OFFLINE"  # a sync's folder is missing, unreadable or empty: nothing is removed
    CANCELLED = "CANCELLED"
    # Per request.
    UNAUTHORIZED = "UNAUTHORIZED"
    TOO_MANY_ATTEMPTS = "TOO_MANY_ATTEMPTS"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    VALIDATION_ERROR = "VALIDATION_ERROR"
    REQUEST_TOO_LARGE = "REQUEST_TOO_LARGE"
    BATCH_TOO_LARGE = "BATCH_TOO_LARGE"
    MODEL_NOT_READY = "MODEL_NOT_READY"
    INTERNAL_ERROR = "INTERNAL_ERROR"


_RETRIABLE = frozenset(
    {
        ErrorCode.FILE_UNREADABLE,
        ErrorCode.ML_ITEM_FAILED,
        ErrorCode.STORE_FAILED,
        ErrorCode.DISK_FULL,
        ErrorCode.ML_UNAVAILABLE,
        ErrorCode.ML_TIMEOUT,
    }
)


def is_retriable(code: str) -> bool:
    """Whether the same work may succeed when tried again later (a file's error, a failed job's cause)."""
    return code in _RETRIABLE


class ItemError(BaseModel):
    """The error of one image or file; the rest of its batch or job goes on."""

    code: ErrorCode = Field(description="Stable machine-readable code.")
    message: str = Field(description="Human-readable explanation.")

    def __str__(self) -> str:  # clients of the original service print the error as a string
        return f"{self.code}: {self.message}"


class ErrorBody(BaseModel):
    code: ErrorCode
    message: str
    where: str | None = Field(default=None, description="The field, path or parameter at fault.")


class ErrorResponse(BaseModel):
    """Body of every non-2xx answer of both services."""

    error: ErrorBody


class SightlineError(Exception):
    """An error with a stable code, raised anywhere and turned into a structured answer at the edge."""

    def __init__(self, code: ErrorCode, message: str, *, where: str | None = None, status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.where = where
        self.status = status

    @property
    def retriable(self) -> bool:
        return is_retriable(self.code)

    def to_item(self) -> ItemError:
        return ItemError(code=self.code, message=self.message)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)
