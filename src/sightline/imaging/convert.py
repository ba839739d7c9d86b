"""To RGB, reduced and oriented, without a full-size temporary when a smaller result is asked for.

Conversions (alpha compositing over white, 16-bit and float scaling, palettes) run strip by strip and
each strip is reduced right after, so the only full-size buffer is the decoded image itself.
"""

from __future__ import annotations

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
_NUMERIC = ("I", "I;16", "I;16L", "I;16B", "I;16N", "F")
_ALPHA = ("RGBA", "LA", "PA", "RGBa", "La")


def exif_orientation(im: Image.Image) -> int:
    """The EXIF orientation of the image ``im`` has open (its frame, for an MPF file), 1 when absent or invalid
    (or when its EXIF declares more entries than a camera writes: Pillow would read every one)."""
    if not exif_within_bounds(im.info.get("exif")):
        return 1
    value = im.getexif().get(274, 1)
    return int(value) if value in TRANSPOSE else 1


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
