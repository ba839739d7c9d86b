"""JPEG thumbnails of any supported image."""

from __future__ import annotations

import io

from PIL import Image

from sightline.imaging.decode import decode_image


def make_thumbnail(data: bytes, size: int = 320, *, max_pixels: int = 180_000_000, quality: int = 82) -> bytes:
    """JPEG bytes, oriented, long side <= ``size``. Raises ImageDecodeError like `decode_image`."""
    image = decode_image(data, min_side=size, max_pixels=max_pixels).image
    image.thumbnail((size, size), Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality)
    return buf.getvalue()
