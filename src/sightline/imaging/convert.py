"""To RGB, reduced and oriented, without a full-size temporary when a smaller result is asked for.

Conversions (alpha compositing over white, 16-bit and float scaling, palettes) run strip by strip and
each strip is reduced right after, so the only full-size buffer is the decoded image itself.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from sightline.imaging.budget import STRIP_PIXELS, reduced_size
from sightline.imaging.formats import exif_within_bounds

TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_ORIENTATION = 274  # the EXIF / TIFF Orientation tag
_NUMERIC = ("I", "I;16", "I;16L", "I;16B", "I;16N", "F")
_ALPHA = ("RGBA", "LA", "PA", "RGBa", "La")


def _pillow_orients_tiff() -> bool:
    """Whether Pillow's TIFF plugin applies the Orientation tag itself (from Pillow 13: the size it reports is the
    turned one from the header on, and `load` turns the pixels): asked of a 2 x 1 TIFF of orientation 6."""
    buffer = io.BytesIO()
    Image.new("L", (2, 1)).save(buffer, "TIFF", tiffinfo={_ORIENTATION: 6})
    with Image.open(buffer) as im:
        return im.size == (1, 2)


# The Pillow decoders that apply an image's orientation themselves: the size they report and the pixels they give
# are the displayed ones, and applying the orientation again would turn the picture twice. pillow-heif applies
# HEIF's transforms (irot, imir), which are its orientation (the EXIF one must then be ignored: it resets it to 1),
# to the image and its thumbnails; Pillow's TIFF plugin applies the Orientation tag from 13 on. Pillow's own AVIF,
# JPEG, PNG and WebP plugins leave it in the EXIF, for the reader to apply.
ORIENTED_BY_DECODER: frozenset[str] = frozenset({"HEIF", *(("TIFF",) if _pillow_orients_tiff() else ())})


def declared_orientation(im: Image.Image, exif: Image.Exif | None = None) -> int:
    """The EXIF (a TIFF's IFD 0) orientation of the image ``im`` has open (its frame, for an MPF file), 1 when
    absent or invalid (or when its EXIF declares more entries than a camera writes: Pillow would read every one).
    ``exif``: ``im``'s EXIF, when read already."""
    if exif is None:
        if not exif_within_bounds(im.info.get("exif")):
            return 1
        exif = im.getexif()
    value = exif.get(_ORIENTATION, 1)
    return int(value) if value in TRANSPOSE else 1


def exif_orientation(im: Image.Image, exif: Image.Exif | None = None) -> int:
    """The orientation left to apply to the pixels of the image ``im`` has open, and to the size it reports: the
    declared one, or 1 when its decoder applies that itself (ORIENTED_BY_DECODER). Each format's orientation is
    applied exactly once by following this."""
    return 1 if im.format in ORIENTED_BY_DECODER else declared_orientation(im, exif)


def turned_by_decoder(im: Image.Image) -> bool:
    """Whether loading ``im`` turns its pixels, into a copy of the decoded image (Pillow's TIFF plugin)."""
    return im.format in ORIENTED_BY_DECODER and declared_orientation(im) != 1


def oriented_size(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    """``size`` as displayed once ``orientation`` is applied."""
    width, height = size
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def orient(image: Image.Image, orientation: int) -> Image.Image:
    method = TRANSPOSE.get(orientation)
    return image.transpose(method) if method is not None else image


def shrink_factor(size: tuple[int, int], min_side: int | None) -> int:
    """The integer factor that puts the short side in [min_side, 2 * min_side), or 1."""
    if min_side is None or min_side <= 0:
        return 1
    return max(1, min(size) // min_side)


def shrink(image: Image.Image, min_side: int | None) -> Image.Image:
    factor = shrink_factor(image.size, min_side)
    return image.reduce(factor) if factor >= 2 else image


def _numeric_scale(image: Image.Image) -> float:
    """One scale to 0..255 for the whole image (never per strip): 16-bit, or 0..1 floats."""
    if image.mode.startswith("I;16"):
        return 1 / 257
    low, high = image.getextrema()
    if image.mode == "I":
        return 1 / 257 if high > 255 else 1.0
    return 255.0 if high <= 1.0 else 1.0


def to_rgb(image: Image.Image, scale: float = 1.0) -> Image.Image:
    """``image`` (small: a strip) as RGB; alpha composited over white."""
    mode = image.mode
    if mode == "RGB":
        return image
    if mode in _NUMERIC:
        arr = np.asarray(image, dtype=np.float32) * scale
        return Image.fromarray(np.clip(arr + 0.5, 0, 255).astype(np.uint8)).convert("RGB")
    if mode in _ALPHA or (mode in ("P", "L") and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def reduced_rgb(image: Image.Image, factor: int) -> Image.Image:
    """``image`` as RGB reduced by ``factor``, converted strip by strip (the same pixels as converting
    the whole image, then reducing it: strips are whole multiples of ``factor`` rows)."""
    if image.mode == "RGB":
        return image.reduce(factor) if factor >= 2 else image
    scale = _numeric_scale(image) if image.mode in _NUMERIC else 1.0
    width, height = image.size
    rows = max(factor, STRIP_PIXELS // max(width, 1) // factor * factor)
    out = Image.new("RGB", reduced_size(width, height, factor))
    for top in range(0, height, rows):
        strip = to_rgb(image.crop((0, top, width, min(height, top + rows))), scale)
        out.paste(strip.reduce(factor) if factor >= 2 else strip, (0, top // factor))
    return out


def finish(image: Image.Image, min_side: int | None, orientation: int) -> Image.Image:
    """RGB, reduced for ``min_side``, oriented; the decoded ``image`` is closed as soon as it is not
    needed, so at most the result and its turned copy are alive at the end."""
    result = reduced_rgb(image, shrink_factor(image.size, min_side))
    if result is not image:
        image.close()
    turned = orient(result, orientation)
    if turned is not result:
        result.close()
    return turned
