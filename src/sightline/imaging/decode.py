"""Decode any supported image to an oriented RGB Pillow image, cheaply when a small one will do.

JPEGs go through libjpeg-turbo (simplejpeg) with DCT scaling; RAW files use their embedded preview when
it is big enough; everything is checked against a pixel limit from the header before pixels are decoded.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import numpy as np
import simplejpeg
from PIL import Image

from sightline.errors import ErrorCode, SightlineError
from sightline.imaging.formats import sniff_format

_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
# LibRaw's `flip` to the EXIF orientation it came from (LibRaw maps orientation 1..8 to 0,1,3,2,4,6,7,5).
FLIP_TO_ORIENTATION = {0: 1, 1: 2, 3: 3, 2: 4, 4: 5, 6: 6, 7: 7, 5: 8}
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


@dataclass
class DecodedImage:
    image: Image.Image  # mode RGB, orientation applied, possibly reduced (see decode_image)
    format: str         # as sniff_format
    width: int          # full-size width after orientation, whatever size `image` was decoded at
    height: int


def decode_image(data: bytes, *, min_side: int | None = None, max_pixels: int = 180_000_000) -> DecodedImage:
    """Decode ``data`` to RGB with EXIF orientation applied.

    With ``min_side``, the result may be reduced: its short side is then between ``min_side`` and
    ``2 * min_side`` (or the original size when that is smaller). Raises ImageDecodeError.
    """
    if not data:
        raise ImageDecodeError(ErrorCode.FILE_EMPTY, "The file is empty (0 bytes).")
    fmt = sniff_format(data)
    if fmt is None:
        raise ImageDecodeError(ErrorCode.UNSUPPORTED_FORMAT, "Not an image in a supported format.")
    try:
        if fmt == "jpeg":
            image, size = _decode_jpeg(data, min_side, max_pixels)
        elif fmt in ("dng", "raw"):
            image, size = _decode_raw(data, min_side, max_pixels)
        else:
            image, size = _decode_pillow(data, min_side, max_pixels)
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


def _oriented_size(width: int, height: int, orientation: int) -> tuple[int, int]:
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def _orient(image: Image.Image, orientation: int) -> Image.Image:
    method = _TRANSPOSE.get(orientation)
    return image.transpose(method) if method is not None else image


def _shrink(image: Image.Image, min_side: int | None) -> Image.Image:
    """Reduce by an integer factor so the short side lands in [min_side, 2 * min_side)."""
    if min_side is None or min_side <= 0:
        return image
    factor = min(image.size) // min_side
    return image.reduce(factor) if factor >= 2 else image


def _to_rgb(image: Image.Image) -> Image.Image:
    mode = image.mode
    if mode == "RGB":
        return image
    if mode in ("I", "I;16", "I;16L", "I;16B", "I;16N", "F"):
        arr = np.asarray(image, dtype=np.float32)
        if mode.startswith("I;16") or (mode == "I" and arr.max(initial=0) > 255):
            arr = arr / 257.0
        elif mode == "F" and arr.max(initial=0) <= 1.0:
            arr = arr * 255.0
        return Image.fromarray(np.clip(arr + 0.5, 0, 255).astype(np.uint8)).convert("RGB")
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        mode in ("P", "L", "RGB") and "transparency" in image.info
    )
    if has_alpha:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def _finish(image: Image.Image, min_side: int | None, orientation: int) -> Image.Image:
    """Convert (composites alpha before any averaging; reduce() takes few modes), shrink, orient."""
    return _orient(_shrink(_to_rgb(image), min_side), orientation)


# --- JPEG -----------------------------------------------------------------------------------

def _jpeg_orientation(data: bytes) -> int:
    """EXIF orientation from the JPEG header (Pillow parses markers up to the scan, no pixels)."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            value = im.getexif().get(274, 1)
        return int(value) if int(value) in _TRANSPOSE else 1
    except Exception:
        return 1


def _decode_jpeg(data: bytes, min_side: int | None, max_pixels: int) -> tuple[Image.Image, tuple[int, int]]:
    height, width, colorspace, _ = simplejpeg.decode_jpeg_header(data)
    _check_pixels(width, height, max_pixels)
    orientation = _jpeg_orientation(data)
    size = _oriented_size(width, height, orientation)
    if colorspace in ("CMYK", "YCCK"):  # leave Adobe's inverted CMYK to Pillow
        return _decode_pillow(data, min_side, max_pixels, orientation=orientation)[0], size
    target = min_side or 0
    # strict: libjpeg warnings (truncation, corrupt entropy data) raise instead of leaving grey blocks
    array = simplejpeg.decode_jpeg(data, colorspace="RGB", min_height=target, min_width=target, strict=True)
    return _finish(Image.fromarray(array), min_side, orientation), size


# --- everything Pillow opens ----------------------------------------------------------------

def _decode_pillow(
    data: bytes, min_side: int | None, max_pixels: int, *, orientation: int | None = None
) -> tuple[Image.Image, tuple[int, int]]:
    im = Image.open(io.BytesIO(data))  # reads the header only; not `with`: that would close our result
    _check_pixels(*im.size, max_pixels)
    if orientation is None:
        value = im.getexif().get(274, 1)
        orientation = int(value) if value in _TRANSPOSE else 1
    size = _oriented_size(*im.size, orientation)
    if im.format == "JPEG" and min_side:
        im.draft(im.mode, (min_side, min_side))
    im.load()  # the first frame / page; truncation raises (LOAD_TRUNCATED_IMAGES stays off)
    return _finish(im, min_side, orientation), size


# --- DNG and camera RAW -----------------------------------------------------------------------

def _raw_preview(raw, min_side: int, orientation: int, sensor_landscape: bool) -> Image.Image | None:
    """The embedded preview, oriented, if it exists, decodes and has a short side >= min_side."""
    import rawpy

    try:
        thumb = raw.extract_thumb()
    except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError):
        return None
    if thumb.format == rawpy.ThumbFormat.JPEG:
        height, width, _, _ = simplejpeg.decode_jpeg_header(thumb.data)
        if min(width, height) < min_side:
            return None
        own = _jpeg_orientation(thumb.data)
        array = simplejpeg.decode_jpeg(thumb.data, colorspace="RGB", min_height=min_side, min_width=min_side)
        image = _shrink(Image.fromarray(array), min_side)
    else:
        array = thumb.data
        if array.ndim != 3 or min(array.shape[:2]) < min_side:
            return None
        if array.dtype != np.uint8:
            array = (array >> 8).astype(np.uint8)
        own = 1
        image = _shrink(_to_rgb(Image.fromarray(array[..., :3] if array.shape[2] >= 3 else array[..., 0])),
                        min_side)
    if own != 1:
        return _orient(image, own)
    # A preview without its own orientation follows the RAW's, unless it is already upright.
    if (image.width >= image.height) != sensor_landscape:
        return image
    return _orient(image, orientation)


def _decode_raw(data: bytes, min_side: int | None, max_pixels: int) -> tuple[Image.Image, tuple[int, int]]:
    import rawpy

    with rawpy.RawPy() as raw:
        raw.open_buffer(io.BytesIO(data))
        sizes = raw.sizes
        _check_pixels(sizes.width, sizes.height, max_pixels)
        orientation = FLIP_TO_ORIENTATION.get(sizes.flip, 1)
        size = _oriented_size(sizes.width, sizes.height, orientation)
        if min_side:
            try:
                preview = _raw_preview(raw, min_side, orientation, sizes.width >= sizes.height)
            except Exception:  # a broken preview is no reason to give up: demosaic instead
                preview = None
            if preview is not None:
                return preview, size
        half = min_side is not None and min_side > 0 and min(sizes.width, sizes.height) // 2 >= min_side
        # LibRaw applies `flip` itself when it makes the output image.
        rgb = raw.postprocess(half_size=half, use_camera_wb=True, output_bps=8)
    return _shrink(Image.fromarray(rgb), min_side), size
