"""An image reduced to what a model needs, as a small JPEG: what an ingestion worker sends a GPU replica
instead of the original file, so that the replica's CPU does not decode 12 MP JPEGs (see docs/scaling.md).

The image is not resized beyond the decoder's own reduction: the ML service then resamples exactly the
pixels it would have got from the original, and only the JPEG re-encoding differs. Measured with `lite` on
28 real photos (4x upscaled to camera size): embedding cosine to the original's median 0.9994, min 0.980,
each photo's nearest original its own, ~41 kB per image. Resizing to the model's side first halved the
bytes but moved the embeddings four times as far (median 0.993, min 0.963).
"""

from __future__ import annotations

import io

from sightline.imaging.budget import DecodeBudget
from sightline.imaging.decode import decode_image

REDUCED_QUALITY = 95


def reduced_jpeg(data: bytes, min_side: int, *, max_pixels: int = 180_000_000, budget: DecodeBudget | None = None,
                 quality: int = REDUCED_QUALITY) -> bytes:
    """``data`` decoded reduced for ``min_side`` (from its preview when it carries one: short side between
    ``min_side`` and twice that), oriented, as a JPEG without metadata. Raises ImageDecodeError like
    `decode_image`."""
    image = decode_image(data, min_side=min_side, max_pixels=max_pixels, budget=budget).image
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()
