"""Stable error codes and the error shapes both services answer with."""

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
    ML_UNAVAILABLE = "ML_UNAVAILABLE"
    ML_TIMEOUT = "ML_TIMEOUT"
    ML_UNAUTHORIZED = "ML_UNAUTHORIZED"
    ML_ITEM_FAILED = "ML_ITEM_FAILED"
    MODEL_MISMATCH = "MODEL_MISMATCH"
    STORE_FAILED = "STORE_FAILED"
    CANCELLED = "CANCELLED"
    # Per request.
    UNAUTHORIZED = "UNAUTHORIZED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    VALIDATION_ERROR = "VALIDATION_ERROR"
    REQUEST_TOO_LARGE = "REQUEST_TOO_LARGE"
    BATCH_TOO_LARGE = "BATCH_TOO_LARGE"
    MODEL_NOT_READY = "MODEL_NOT_READY"
    INTERNAL_ERROR = "INTERNAL_ERROR"


RETRIABLE_CODES = frozenset(
    {ErrorCode.ML_UNAVAILABLE, ErrorCode.ML_TIMEOUT, ErrorCode.STORE_FAILED, ErrorCode.FILE_UNREADABLE}
)


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
        return self.code in RETRIABLE_CODES

    def to_item(self) -> ItemError:
        return ItemError(code=self.code, message=self.message)

    def to_response(self) -> ErrorResponse:
        return ErrorResponse(error=ErrorBody(code=self.code, message=self.message, where=self.where))


def utc_now() -> datetime:
    return datetime.now(timezone.utc)
