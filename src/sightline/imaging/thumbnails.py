"""JPEG thumbnails of any supported image, in a fixed set of sizes (so every request can hit a cache)."""

from __future__ import annotations

import bisect
import io

from PIL import Image

from sightline.imaging.budget import DecodeBudget
from sightline.imaging.decode import decode_image

THUMBNAIL_SIZES: tuple[int, ...] = (160, 320, 640, 1280)


def thumbnail_size(requested: int) -> int:
    """The smallest of THUMBNAIL_SIZES at least ``requested`` (never a blurrier one), at most the largest."""
    index = bisect.bisect_left(THUMBNAIL_SIZES, requested)
    return THUMBNAIL_SIZES[min(index, len(THUMBNAIL_SIZES) - 1)]


def make_thumbnail(
    data: bytes, size: int = 320, *, max_pixels: int = 180_000_000, quality: int = 82,
    budget: DecodeBudget | None = None,
) -> bytes:
    """JPEG bytes, oriented, long side <= ``size``; decoded reduced and within ``budget`` (as
    `decode_image`). Raises ImageDecodeError like `decode_image`."""
    image = decode_image(data, min_side=size, max_pixels=max_pixels, budget=budget).image
    image.thumbnail((size, size), Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality)
    return buf.getvalue()
