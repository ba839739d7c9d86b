"""Decode any supported image to an oriented RGB Pillow image, cheaply when a small one will do.

JPEGs go through libjpeg-turbo (simplejpeg) with DCT scaling; RAW files use their embedded preview when
it is big enough; everything is checked from the header before pixels are decoded: against a pixel
limit, and its estimated memory against a byte budget (`budget.py`). PNG, WebP, TIFF, GIF and HEIF cannot
decode reduced, so those over the budget are refused; conversions never run at full size (`convert.py`).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import simplejpeg
from PIL import Image

from sightline.errors import ErrorCode
from sightline.imaging import budget as mem
from sightline.imaging.budget import DecodeBudget, shared_budget
from sightline.imaging.convert import (
    exif_orientation,
    finish,
    orient,
    oriented_size,
    shrink,
    shrink_factor,
    to_rgb,
    turned_by_decoder,
)
from sightline.imaging.errors import ImageDecodeError
from sightline.imaging.formats import Tiff, sniff, tiff_holds_image
from sightline.imaging.previews import heif_thumbnail, mpf_preview

# LibRaw's `flip` to the EXIF orientation it came from (LibRaw maps orientation 1..8 to 0,1,3,2,4,6,7,5).
FLIP_TO_ORIENTATION = {0: 1, 1: 2, 3: 3, 2: 4, 4: 5, 6: 6, 7: 7, 5: 8}

T = TypeVar("T")

__all__ = ["FLIP_TO_ORIENTATION", "DecodedImage", "ImageDecodeError", "decode_image"]


@dataclass
class DecodedImage:
    image: Image.Image  # mode RGB, orientation applied, possibly reduced (see decode_image)
    format: str         # as sniff_format
    width: int          # full-size width after orientation, whatever size `image` was decoded at
    height: int


def decode_image(
    data: bytes, *, min_side: int | None = None, max_pixels: int = 180_000_000,
    budget: DecodeBudget | None = None,
) -> DecodedImage:
    """Decode ``data`` to RGB with EXIF orientation applied.

    With ``min_side``, the result may be reduced: its short side is then between ``min_side`` and
    ``2 * min_side`` (or the original size when that is smaller). The decode's memory, estimated from the
    header, is reserved from ``budget`` (default: this process's shared budget of
    DEFAULT_MAX_DECODE_BYTES) and refused with IMAGE_TOO_LARGE over its limit. Raises ImageDecodeError.
    """
    if not data:
        raise ImageDecodeError(ErrorCode.FILE_EMPTY, "The file is empty (0 bytes).")
    sniffed = sniff(data)
    fmt = sniffed.format
    if fmt is None:
        raise ImageDecodeError(ErrorCode.UNSUPPORTED_FORMAT, "Not an image in a supported format.")
    if sniffed.problem:  # before Pillow or LibRaw read what its IFDs declare
        raise ImageDecodeError(ErrorCode.DECODE_FAILED, f"Cannot decode the {fmt.upper()} image: {sniffed.problem}.")
    budget = budget or shared_budget()
    try:
        if fmt == "jpeg":
            image, size = _decode_jpeg(data, min_side, max_pixels, budget)
        elif fmt in ("dng", "raw"):
            image, size = _decode_raw(data, sniffed.tiff, min_side, max_pixels, budget)
        elif fmt in ("heif", "avif") and min_side:
            image, size = _decode_heif(data, min_side, max_pixels, budget)
        else:
            image, size = _decode_pillow(data, min_side, max_pixels, budget)
    except ImageDecodeError:
        raise
    except Exception as exc:  # Pillow, libjpeg, libheif and LibRaw raise many types on bad data
        raise _decode_error(fmt, exc) from None
    return DecodedImage(image=image, format=fmt, width=size[0], height=size[1])


_TOO_LARGE = (MemoryError, Image.DecompressionBombError, Image.DecompressionBombWarning)
_LIBRAW_TOO_LARGE = ("LibRawTooBigError", "LibRawUnsufficientMemoryError", "LibRawMemPoolOverflowError")


def _decode_error(fmt: str, exc: Exception) -> ImageDecodeError:
    if isinstance(exc, _TOO_LARGE) or type(exc).__name__ in _LIBRAW_TOO_LARGE:
        return ImageDecodeError(ErrorCode.IMAGE_TOO_LARGE, f"The {fmt.upper()} image is too large to decode.")
    return ImageDecodeError(ErrorCode.DECODE_FAILED, f"Cannot decode the {fmt.upper()} image: {_reason(exc)}.")


def _reason(exc: Exception) -> str:
    """A short readable cause, without object or bytes reprs."""
    arg = exc.args[0] if len(exc.args) == 1 else None
    text = arg.decode("utf-8", "replace") if isinstance(arg, bytes) else str(exc)  # LibRaw: bytes
    text = re.sub(r"<[^<>]* at 0x[0-9a-fA-F]+>", "", text)
    text = re.sub(r"\bb(['\"]).*?\1", "…", text)
    text = " ".join(text.split()).rstrip(".")[:200]
    return text or "corrupt or truncated data"


def _check_pixels(width: int, height: int, max_pixels: int) -> None:
    if width <= 0 or height <= 0:
        raise ImageDecodeError(ErrorCode.DECODE_FAILED, f"The image declares an invalid size {width}x{height}.")
    if width * height > max_pixels:
        raise ImageDecodeError(
            ErrorCode.IMAGE_TOO_LARGE,
            f"The image is {width}x{height} = {width * height / 1e6:.1f} megapixels, "
            f"over the limit of {max_pixels / 1e6:.1f} megapixels.",
        )


def _what(fmt: str, mode: str, width: int, height: int) -> str:
    return f"this {width}x{height} {mode} {fmt.upper()} image"


# --- JPEG -----------------------------------------------------------------------------------

def _jpeg_header(data: bytes, min_side: int | None = None) -> tuple[int, bool, bytes | None]:
    """EXIF orientation, whether the JPEG is progressive (Pillow parses markers up to the scan) and, with
    ``min_side``, an MPF preview that can stand in for the image (see previews.py)."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            orientation = exif_orientation(im)
            progressive = bool(im.info.get("progressive") or im.info.get("progression"))
            try:
                preview = mpf_preview(im, data, min_side) if min_side else None
            except Exception:  # a broken preview is no reason to give up: decode the image itself
                preview = None
        return orientation, progressive, preview
    except Exception:
        return 1, True, None


def _decode_jpeg(
    data: bytes, min_side: int | None, max_pixels: int, budget: DecodeBudget
) -> tuple[Image.Image, tuple[int, int]]:
    height, width, colorspace, _ = simplejpeg.decode_jpeg_header(data)
    _check_pixels(width, height, max_pixels)
    orientation, progressive, preview = _jpeg_header(data, min_side)
    size = oriented_size((width, height), orientation)
    if preview is not None and min_side:
        found = _usable(_jpeg_preview, preview, min_side, budget)
        if found is not None:  # the preview follows the image's orientation unless it has its own
            return orient(found[0], found[1] if found[1] != 1 else orientation), size
    if colorspace in ("CMYK", "YCCK"):  # leave Adobe's inverted CMYK to Pillow
        return _decode_pillow(data, min_side, max_pixels, budget, orientation=orientation)[0], size
    components = 1 if colorspace == "Gray" else 3
    need = mem.jpeg_decode_bytes(width, height, components, progressive, min_side, orientation)
    target = min_side or 0
    with budget.reserve(need, _what("jpeg", colorspace, width, height)):
        # strict: libjpeg warnings (truncation, corrupt entropy data) raise instead of leaving grey blocks
        array = simplejpeg.decode_jpeg(data, colorspace="RGB", min_height=target, min_width=target, strict=True)
        return finish(Image.fromarray(array), min_side, orientation), size


# --- everything Pillow opens ----------------------------------------------------------------

def _decode_pillow(
    data: bytes, min_side: int | None, max_pixels: int, budget: DecodeBudget | None = None,
    *, orientation: int | None = None,
) -> tuple[Image.Image, tuple[int, int]]:
    im = Image.open(io.BytesIO(data))  # reads the header only; not `with`: that would close our result
    full = im.size  # as the decoder gives it: displayed already when the decoder applies the orientation
    _check_pixels(*full, max_pixels)
    # A PNG's getexif() decodes the pixels when no eXIf chunk came before them: read it after `load`,
    # and reserve for a turned copy meanwhile.
    if orientation is None and not (im.format == "PNG" and "exif" not in im.info):
        orientation = exif_orientation(im)
    if im.format == "JPEG" and min_side:
        im.draft(im.mode, (min_side, min_side))
    factor = shrink_factor(im.size, min_side)
    need = mem.pillow_decode_bytes(im.format, im.mode, im.size, factor, orientation or 6, turned_by_decoder(im))
    with (budget or shared_budget()).reserve(need, _what(im.format, im.mode, *im.size)):
        im.load()  # the first frame / page; truncation raises (LOAD_TRUNCATED_IMAGES stays off)
        if orientation is None:
            orientation = exif_orientation(im)
        size = oriented_size(full, orientation)
        return finish(im, min_side, orientation), size


def _heif_thumbnail(data: bytes, min_side: int, budget: DecodeBudget) -> Image.Image | None:
    """A thumbnail as pillow-heif decodes it: turned by the file's transforms already, as the image is."""
    found = heif_thumbnail(data, min_side)
    if found is None:
        return None
    (width, height), load = found
    with budget.reserve(width * height * 8, _what("heif thumbnail", "RGBA", width, height)):
        return finish(load(), min_side, 1)


def _decode_heif(
    data: bytes, min_side: int, max_pixels: int, budget: DecodeBudget
) -> tuple[Image.Image, tuple[int, int]]:
    """From a thumbnail when one is big enough (oriented as the full image would be), else in full."""
    with Image.open(io.BytesIO(data)) as im:  # the header: size and orientation
        _check_pixels(*im.size, max_pixels)
        size = oriented_size(im.size, exif_orientation(im))
    thumbnail = _usable(_heif_thumbnail, data, min_side, budget)
    if thumbnail is not None:
        return thumbnail, size
    return _decode_pillow(data, min_side, max_pixels, budget)


def _usable(decode_preview: Callable[..., T | None], *args: Any) -> T | None:
    """A preview decoded, or None when it is missing, broken or alone over the memory limit (no reason to
    give up: the caller decodes the image itself, which its reduced decode may fit in)."""
    try:
        return decode_preview(*args)
    except Exception:
        return None


# --- DNG and camera RAW -----------------------------------------------------------------------

def _jpeg_preview(jpeg: bytes, min_side: int, budget: DecodeBudget) -> tuple[Image.Image, int] | None:
    height, width, colorspace, _ = simplejpeg.decode_jpeg_header(jpeg)
    if min(width, height) < min_side:
        return None
    own, progressive, _ = _jpeg_header(jpeg)
    need = mem.jpeg_decode_bytes(width, height, 3, progressive, min_side, 1)
    with budget.reserve(need, _what("jpeg preview", colorspace, width, height)):
        array = simplejpeg.decode_jpeg(jpeg, colorspace="RGB", min_height=min_side, min_width=min_side)
        return shrink(Image.fromarray(array), min_side), own


def _raw_preview(raw, tiff: Tiff | None, min_side: int, orientation: int, sensor_landscape: bool,
                 budget: DecodeBudget) -> Image.Image | None:
    """The embedded preview, oriented, if it exists, decodes and has a short side >= min_side (a bitmap only
    when the file's strips fill the shape it declares: LibRaw's array would read past them)."""
    import rawpy

    try:
        thumb = raw.extract_thumb()
    except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError):
        return None
    if thumb.format == rawpy.ThumbFormat.JPEG:
        found = _jpeg_preview(thumb.data, min_side, budget)
        if found is None:
            return None
        image, own = found
    else:  # a bitmap LibRaw already holds: its bytes came from the file
        array = thumb.data
        if array.ndim != 3 or min(array.shape[:2]) < min_side:
            return None
        if tiff is None or not tiff_holds_image(tiff, array.shape[1], array.shape[0], array.nbytes):
            return None
        if array.dtype != np.uint8:
            array = (array >> 8).astype(np.uint8)
        own = 1
        image = shrink(to_rgb(Image.fromarray(array[..., :3] if array.shape[2] >= 3 else array[..., 0])),
                       min_side)
    if own != 1:
        return orient(image, own)
    # A preview without its own orientation follows the RAW's, unless it is already upright.
    if (image.width >= image.height) != sensor_landscape:
        return image
    return orient(image, orientation)


def _decode_raw(
    data: bytes, tiff: Tiff | None, min_side: int | None, max_pixels: int, budget: DecodeBudget
) -> tuple[Image.Image, tuple[int, int]]:
    import rawpy

    with rawpy.RawPy() as raw:
        raw.open_buffer(io.BytesIO(data))
        sizes = raw.sizes
        _check_pixels(sizes.width, sizes.height, max_pixels)
        orientation = FLIP_TO_ORIENTATION.get(sizes.flip, 1)
        size = oriented_size((sizes.width, sizes.height), orientation)
        if min_side:
            preview = _usable(_raw_preview, raw, tiff, min_side, orientation, sizes.width >= sizes.height, budget)
            if preview is not None:
                return preview, size
        half = min_side is not None and min_side > 0 and min(sizes.width, sizes.height) // 2 >= min_side
        need = mem.raw_decode_bytes(sizes.raw_width * sizes.raw_height, sizes.width * sizes.height, half)
        with budget.reserve(need, _what("raw", "CFA", sizes.width, sizes.height)):
            # LibRaw applies `flip` itself when it makes the output image.
            rgb = raw.postprocess(half_size=half, use_camera_wb=True, output_bps=8)
            return shrink(Image.fromarray(rgb), min_side), size
