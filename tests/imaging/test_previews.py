"""Files that carry a smaller copy of their picture decode from it when it is big enough."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from sightline.imaging import decode_image, make_thumbnail
from sightline.imaging.decode import DecodedImage
from tests import samples
from tests.imaging.preview_samples import PREVIEW, PRIMARY, banded, heic_with_thumbnail, mpf_jpeg


def colour_of(decoded: DecodedImage) -> str:
    """"preview" or "primary", from the colour below the white band."""
    arr = np.asarray(decoded.image).astype(int)
    pixel = arr[arr.shape[0] * 3 // 4, arr.shape[1] // 2]
    distance = {name: np.abs(pixel - colour).sum() for name, colour in (("preview", PREVIEW), ("primary", PRIMARY))}
    return min(distance, key=distance.get)


def band_side(image: Image.Image) -> str:
    arr = np.asarray(image).mean(axis=2)
    edges = {"top": arr[0].mean(), "bottom": arr[-1].mean(), "left": arr[:, 0].mean(), "right": arr[:, -1].mean()}
    return max(edges, key=edges.get)


# --- JPEG: the MPF preview ---------------------------------------------------------------------

def test_jpeg_decodes_from_its_mpf_preview_when_big_enough() -> None:
    decoded = decode_image(mpf_jpeg((1200, 900), (400, 300)), min_side=256)
    assert colour_of(decoded) == "preview"
    assert (decoded.width, decoded.height) == (1200, 900)  # the image's size, not the preview's
    assert decoded.format == "jpeg"
    assert 256 <= min(decoded.image.size) <= 512


@pytest.mark.parametrize("min_side", [None, 400])
def test_jpeg_decodes_itself_when_the_preview_is_too_small_or_no_reduction_is_asked(min_side: int | None) -> None:
    decoded = decode_image(mpf_jpeg((1200, 900), (400, 300)), min_side=min_side)
    assert colour_of(decoded) == "primary"


def test_an_mpf_image_of_another_shape_is_no_preview() -> None:
    """MPF also carries stereo pairs, panoramas and depth maps: only a copy of the same shape stands in."""
    decoded = decode_image(mpf_jpeg((1200, 900), (400, 400)), min_side=256)
    assert colour_of(decoded) == "primary"


@pytest.mark.parametrize(("orientation", "side"), [(3, "bottom"), (6, "right"), (8, "left")])
def test_the_preview_follows_the_image_orientation(orientation: int, side: str) -> None:
    data = mpf_jpeg((1200, 900), (400, 300), exif=samples.exif_bytes(orientation=orientation))
    decoded = decode_image(data, min_side=256)
    assert colour_of(decoded) == "preview"
    assert band_side(decoded.image) == side
    turned = orientation in (6, 8)
    assert (decoded.width, decoded.height) == ((900, 1200) if turned else (1200, 900))


def test_a_broken_preview_falls_back_to_the_image() -> None:
    data = bytearray(mpf_jpeg((1200, 900), (400, 300)))
    preview_at = data.rfind(b"\xff\xd8\xff")  # the second image's start
    data[preview_at + 600 : preview_at + 2000] = b"\x00" * 1400
    decoded = decode_image(bytes(data), min_side=256)
    assert colour_of(decoded) == "primary"


def test_thumbnails_come_from_the_preview_too() -> None:
    thumbnail = make_thumbnail(mpf_jpeg((1200, 900), (400, 300)), 160)
    decoded = decode_image(thumbnail)
    assert colour_of(decoded) == "preview"


# --- HEIF: its thumbnails ----------------------------------------------------------------------

def test_heic_decodes_from_its_thumbnail_when_big_enough(pixel_loads: list) -> None:
    decoded = decode_image(heic_with_thumbnail((640, 480), 320), min_side=200)
    assert pixel_loads == []  # the full image was never decoded
    assert decoded.image.size == (320, 240)
    assert (decoded.width, decoded.height) == (640, 480)
    assert decoded.format == "heif"


@pytest.mark.parametrize("min_side", [None, 300])
def test_heic_decodes_in_full_when_the_thumbnail_is_too_small(pixel_loads: list, min_side: int | None) -> None:
    decoded = decode_image(heic_with_thumbnail((640, 480), 320), min_side=min_side)
    assert pixel_loads == ["HEIF"]
    assert (decoded.width, decoded.height) == (640, 480)


def test_heic_thumbnail_is_oriented_as_the_full_image() -> None:
    data = heic_with_thumbnail((640, 480), 320, exif=samples.exif_bytes(orientation=6),
                               primary=banded((640, 480), (30, 30, 30)))
    full, reduced = decode_image(data), decode_image(data, min_side=200)
    assert reduced.image.size == (240, 320)
    assert band_side(reduced.image) == band_side(full.image)
    assert (reduced.width, reduced.height) == (full.width, full.height)
