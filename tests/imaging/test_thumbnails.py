"""make_thumbnail: size, format, orientation and errors."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from sightline.errors import ErrorCode
from sightline.imaging import ImageDecodeError, make_thumbnail
from tests import samples


def open_jpeg(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    image.load()
    return image


@pytest.mark.parametrize(
    ("data", "size", "expected"),
    [
        (samples.camera_like_jpeg(1600, 1200), 320, (320, 240)),
        (samples.camera_like_jpeg(1200, 1600), 320, (240, 320)),
        (samples.camera_like_jpeg(1600, 1200), 128, (128, 96)),
        (samples.solid_image(size=(1000, 500), fmt="PNG"), 200, (200, 100)),
        (samples.heic_image((640, 480)), 160, (160, 120)),
        (samples.dng_with_preview(512, 384, (256, 192)), 100, (100, 75)),
        (samples.dng_without_preview(256, 192), 64, (64, 48)),
        (samples.solid_image(size=(50, 40), fmt="WEBP"), 320, (50, 40)),  # never enlarged
    ],
    ids=["jpeg", "jpeg-portrait", "jpeg-small", "png", "heif", "dng-preview", "dng-raw", "tiny-webp"],
)
def test_thumbnail_size_and_format(data: bytes, size: int, expected: tuple[int, int]) -> None:
    thumb = open_jpeg(make_thumbnail(data, size))
    assert thumb.size == expected
    assert max(thumb.size) <= size
    assert thumb.mode == "RGB"


@pytest.mark.parametrize(("orientation", "side"), [(6, "right"), (8, "left")])
def test_thumbnail_applies_orientation(orientation: int, side: str) -> None:
    arr = np.full((600, 800, 3), 20, np.uint8)
    arr[:150] = 255  # white band on top before orientation
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "JPEG", exif=samples.exif_bytes(orientation=orientation))
    thumb = np.asarray(open_jpeg(make_thumbnail(buf.getvalue(), 200))).mean(axis=2)
    assert thumb.shape == (200, 150)
    edges = {"left": thumb[:, 0].mean(), "right": thumb[:, -1].mean(), "top": thumb[0].mean()}
    assert max(edges, key=edges.get) == side


def test_quality_changes_the_size() -> None:
    data = samples.camera_like_jpeg(800, 600)
    assert len(make_thumbnail(data, 320, quality=40)) < len(make_thumbnail(data, 320, quality=95))


@pytest.mark.parametrize(
    ("data", "kwargs", "code"),
    [
        (b"", {}, ErrorCode.FILE_EMPTY),
        (b"plain text", {}, ErrorCode.UNSUPPORTED_FORMAT),
        (samples.decompression_bomb_png(), {}, ErrorCode.IMAGE_TOO_LARGE),
        (samples.solid_image(size=(100, 100)), {"max_pixels": 9999}, ErrorCode.IMAGE_TOO_LARGE),
        (samples.camera_like_jpeg(640, 480)[:20000], {}, ErrorCode.DECODE_FAILED),
    ],
    ids=["empty", "text", "bomb", "max-pixels", "truncated"],
)
def test_thumbnail_errors(data: bytes, kwargs: dict, code: ErrorCode) -> None:
    with pytest.raises(ImageDecodeError) as err:
        make_thumbnail(data, **kwargs)
    assert err.value.code == code
