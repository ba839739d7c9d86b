"""The one error every imaging function raises."""

from __future__ import annotations

from sightline.errors import ErrorCode, SightlineError

_STATUS = {
    ErrorCode.FILE_EMPTY: 400,
    ErrorCode.UNSUPPORTED_FORMAT: 415,
    ErrorCode.IMAGE_TOO_LARGE: 413,
    ErrorCode.DECODE_FAILED: 422,
}


class ImageDecodeError(SightlineError):
    """An image that cannot be decoded; ``code`` is FILE_EMPTY, UNSUPPORTED_FORMAT, IMAGE_TOO_LARGE or
    DECODE_FAILED."""

    def __init__(self, code: ErrorCode, message: str, *, where: str | None = None):
        super().__init__(code, message, where=where, status=_STATUS.get(code, 400))
