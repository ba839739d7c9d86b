"""Memory, not pixels: what a decode will allocate, estimated from the header, and a budget of bytes.

Every decode reserves its estimate from a `DecodeBudget` before a pixel is decoded: over the budget's
limit it is refused with IMAGE_TOO_LARGE (that file only); otherwise it waits until the decodes already
in flight in this process leave room, so a pool of decode threads never holds more than the limit
together. The estimates are upper bounds of the decode paths in `decode.py` (Pillow keeps 1, 2 or 4
bytes a pixel: 3-band images take 4), measured with `python -m tests.imaging.bomb_rss`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sightline.errors import ErrorCode
from sightline.imaging.errors import ImageDecodeError

DEFAULT_MAX_DECODE_BYTES = 1_000_000_000  # SIGHTLINE_MAX_DECODE_BYTES
STRIP_PIXELS = 1 << 20  # conversions to RGB work on strips of about this many pixels
_STRIP_BYTES_PER_PIXEL = 24  # a strip's crop, RGBA and float32 temporaries together
# Per decoded pixel, what a decoder holds besides Pillow's own image.
_DECODER_EXTRA = {
    "WEBP": 12,  # libwebp's canvas and previous-frame canvas (RGBA), the frame as a bytes object
    "TIFF": 4,   # libtiff's strip or tile buffer: one strip can be the whole image
    "HEIF": 12,  # libheif's planes (up to 4:4:4, 16-bit) and pillow_heif's interleaved copy
    "AVIF": 12,
}
_SLACK = 8_000_000  # a decoder's fixed buffers (libjpeg's, zlib's, row buffers)
_JPEG_EIGHTHS = range(1, 9)  # libjpeg-turbo's DCT scaling factors used by simplejpeg: 1/8 .. 8/8


def pillow_pixel_bytes(mode: str) -> int:
    """Bytes a pixel of ``mode`` takes in Pillow's memory."""
    if mode in ("1", "L", "P"):
        return 1
    return 2 if mode.startswith("I;16") else 4


def reduced_size(width: int, height: int, factor: int) -> tuple[int, int]:
    return -(-width // factor), -(-height // factor)


def conversion_bytes(mode: str, width: int, height: int, factor: int, orientation: int) -> int:
    """RGB result (reduced by ``factor``), strip temporaries and a turned copy, as `convert.finish`."""
    out_w, out_h = reduced_size(width, height, factor)
    total = 0 if mode == "RGB" and factor < 2 else 4 * out_w * out_h
    if mode != "RGB":
        total += _STRIP_BYTES_PER_PIXEL * width * max(factor, STRIP_PIXELS // max(width, 1) + factor)
    if orientation != 1:
        total += 4 * out_w * out_h
    return total


def pillow_decode_bytes(fmt: str, mode: str, size: tuple[int, int], factor: int, orientation: int,
                        decoder_turns: bool = False) -> int:
    """A decode through Pillow of a ``size`` image in ``mode`` (after `draft`), converted to RGB and turned by
    ``orientation``; ``decoder_turns``: the decoder turns the full-size image itself, into a copy (TIFF)."""
    pixels = size[0] * size[1]
    copies = 2 if decoder_turns else 1
    stored = (copies * pillow_pixel_bytes(mode) + _DECODER_EXTRA.get(fmt, 0)) * pixels
    return _SLACK + stored + conversion_bytes(mode, *size, factor, orientation)


def jpeg_scaled_size(width: int, height: int, min_side: int | None) -> tuple[int, int]:
    """The size simplejpeg decodes to: the smallest DCT scaling with both sides >= ``min_side``."""
    if not min_side:
        return width, height
    for eighths in _JPEG_EIGHTHS:
        scaled = (-(-width * eighths // 8), -(-height * eighths // 8))
        if min(scaled) >= min_side:
            return scaled
    return width, height


def jpeg_decode_bytes(width: int, height: int, components: int, progressive: bool,
                      min_side: int | None, orientation: int) -> int:
    """libjpeg-turbo to a numpy RGB array, copied into Pillow, reduced and turned. A progressive JPEG
    keeps every DCT coefficient of the full-size image (2 bytes each) whatever the scaling."""
    out_w, out_h = jpeg_scaled_size(width, height, min_side)
    coefficients = 2 * components * width * height if progressive else 0
    factor = min(out_w, out_h) // min_side if min_side else 1
    return _SLACK + coefficients + 7 * out_w * out_h + conversion_bytes("RGB", out_w, out_h, max(factor, 1), orientation)


def raw_decode_bytes(raw_pixels: int, pixels: int, half: bool) -> int:
    """LibRaw: the 16-bit raw data, its 4 x 16-bit working image, the 8-bit RGB output, Pillow's copy."""
    working = pixels // 4 if half else pixels
    return _SLACK + 2 * raw_pixels + (8 + 3 + 4) * working


def _megabytes(nbytes: int) -> str:
    return f"{nbytes / 1e6:,.0f} MB"


class DecodeBudget:
    """Bytes that decodes may hold at once; one decode over ``limit`` is refused, others wait their turn."""

    def __init__(self, limit: int = DEFAULT_MAX_DECODE_BYTES):
        self.limit = limit
        self.held = 0
        self.waiting = 0
        self._changed = threading.Condition()

    @contextmanager
    def reserve(self, nbytes: int, what: str) -> Iterator[None]:
        """Hold ``nbytes`` for the block. Raises ImageDecodeError IMAGE_TOO_LARGE over the limit."""
        if nbytes > self.limit:
            raise ImageDecodeError(
                ErrorCode.IMAGE_TOO_LARGE,
                f"Decoding {what} needs about {_megabytes(nbytes)} of memory, over the limit of "
                f"{_megabytes(self.limit)} (SIGHTLINE_MAX_DECODE_BYTES).",
            )
        with self._changed:
            self.waiting += 1
            self._changed.notify_all()
            self._changed.wait_for(lambda: self.held + nbytes <= self.limit)
            self.waiting -= 1
            self.held += nbytes
        try:
            yield
        finally:
            with self._changed:
                self.held -= nbytes
                self._changed.notify_all()


_shared: dict[int, DecodeBudget] = {}
_shared_lock = threading.Lock()


def shared_budget(limit: int = DEFAULT_MAX_DECODE_BYTES) -> DecodeBudget:
    """The process-wide budget of ``limit`` bytes: every decode pool of this process shares it."""
    with _shared_lock:
        return _shared.setdefault(limit, DecodeBudget(limit))
