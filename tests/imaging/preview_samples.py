"""Files that carry a smaller copy of their picture: a JPEG with an MPF preview, a HEIC with a thumbnail.

The preview is painted in another colour than the primary image, so a test can tell which one was decoded.
"""

from __future__ import annotations

import io

import numpy as np
import pillow_heif
from PIL import Image

PRIMARY = (20, 200, 40)  # green
PREVIEW = (20, 40, 230)  # blue


def banded(size: tuple[int, int], colour: tuple[int, int, int]) -> Image.Image:
    """``colour`` with a white band over the top quarter (shows where "up" went)."""
    width, height = size
    arr = np.empty((height, width, 3), np.uint8)
    arr[:] = colour
    arr[: height // 4] = 255
    return Image.fromarray(arr)


def mpf_jpeg(size: tuple[int, int] = (1200, 900), preview_size: tuple[int, int] = (400, 300), *,
             exif: bytes | None = None, primary: Image.Image | None = None, quality: int = 90) -> bytes:
    """A JPEG whose MPF second image (as cameras write: a smaller copy) is ``preview_size``."""
    image = primary if primary is not None else banded(size, PRIMARY)
    buffer = io.BytesIO()
    kwargs = {"exif": exif} if exif else {}
    image.save(buffer, "MPO", save_all=True, append_images=[banded(preview_size, PREVIEW)], quality=quality,
               **kwargs)
    return buffer.getvalue()


def heic_with_thumbnail(size: tuple[int, int] = (640, 480), thumbnail_box: int = 320, *,
                        exif: bytes | None = None, primary: Image.Image | None = None, quality: int = 80) -> bytes:
    """A HEIC with one thumbnail whose long side is ``thumbnail_box`` (libheif scales the primary down for
    it, so it has the primary's colour: tests tell it apart by its size or by what Pillow decoded)."""
    image = primary if primary is not None else banded(size, PRIMARY)
    heif = pillow_heif.from_pillow(image)
    heif[0].info["thumbnails"] = [thumbnail_box]
    if exif:
        heif[0].info["exif"] = exif
    buffer = io.BytesIO()
    heif.save(buffer, quality=quality, enc_params={"preset": "ultrafast"})
    return buffer.getvalue()
