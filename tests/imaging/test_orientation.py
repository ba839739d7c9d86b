"""Every format applies its orientation exactly once: for each of the 8 EXIF (TIFF) orientations, the decoded image,
the reduced decode, the thumbnail and the metadata's size of a PNG, WebP, AVIF, TIFF, HEIC or DNG match those of the
same picture as a JPEG, which matches the EXIF definition of the orientations.

The picture is dark with a white band over its top quarter and a red block at the band's left end: where the band
and the block end up tells all 8 orientations apart (the band alone cannot tell a mirrored picture).
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pytest
from PIL import Image

from sightline.imaging import decode_image, make_thumbnail, read_metadata
from tests import samples
from tests.imaging.preview_samples import heic_with_thumbnail

SIZE = (400, 200)  # width, height as stored, before orientation
DARK, WHITE, RED = (30, 30, 30), (255, 255, 255), (220, 20, 20)
MIN_SIDE = 64      # the reduced decode
THUMBNAIL = 160    # the thumbnail's long side
ORIENTATIONS = range(1, 9)

# Where the band and the red block end up, by the EXIF definition of each orientation (the stored picture's
# 0th row and 0th column are displayed at ...): 1 top/left, 2 top/right, 3 bottom/right, 4 bottom/left,
# 5 left/top, 6 right/top, 7 right/bottom, 8 left/bottom.
EXPECTED = {
    1: ("top", "top-left"), 2: ("top", "top-right"), 3: ("bottom", "bottom-right"), 4: ("bottom", "bottom-left"),
    5: ("left", "top-left"), 6: ("right", "top-right"), 7: ("right", "bottom-right"), 8: ("left", "bottom-left"),
}


def marked(size: tuple[int, int] = SIZE) -> Image.Image:
    width, height = size
    arr = np.empty((height, width, 3), np.uint8)
    arr[:] = DARK
    arr[: height // 4] = WHITE
    arr[: height // 4, : width // 8] = RED
    return Image.fromarray(arr)


def pose(image: Image.Image) -> tuple[str, str]:
    """The edge the white band is on and the corner the red block is in."""
    arr = np.asarray(image.convert("RGB")).astype(float)
    grey = arr.mean(axis=2)
    edges = {"top": grey[0].mean(), "bottom": grey[-1].mean(), "left": grey[:, 0].mean(), "right": grey[:, -1].mean()}
    h, w = max(1, grey.shape[0] // 10), max(1, grey.shape[1] // 10)
    redness = arr[..., 0] - (arr[..., 1] + arr[..., 2]) / 2
    corners = {"top-left": redness[:h, :w], "top-right": redness[:h, -w:],
               "bottom-left": redness[-h:, :w], "bottom-right": redness[-h:, -w:]}
    return max(edges, key=edges.get), max(corners, key=lambda corner: corners[corner].mean())


class Seen(NamedTuple):
    """What Sightline shows of a file: the size it reports and the pose of each image it makes."""
    decoded: tuple[tuple[int, int], tuple[int, int], tuple[str, str]]  # image size, reported size, pose
    reduced: tuple[bool, tuple[int, int], tuple[str, str]]             # portrait, reported size, pose
    thumbnail: tuple[tuple[int, int], tuple[str, str]]                 # size, pose
    metadata: tuple[int | None, int | None]


def seen(data: bytes) -> Seen:
    full, reduced = decode_image(data), decode_image(data, min_side=MIN_SIDE)
    assert MIN_SIDE <= min(reduced.image.size) <= 2 * MIN_SIDE
    thumbnail = Image.open(io.BytesIO(make_thumbnail(data, THUMBNAIL)))
    meta = read_metadata(data)
    return Seen(
        decoded=(full.image.size, (full.width, full.height), pose(full.image)),
        reduced=(reduced.image.height > reduced.image.width, (reduced.width, reduced.height), pose(reduced.image)),
        thumbnail=(thumbnail.size, pose(thumbnail)),
        metadata=(meta.width, meta.height),
    )


# --- the files ---------------------------------------------------------------------------------

def _encode(fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    marked().save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def _with_exif(fmt: str) -> Callable[[int], bytes]:
    return lambda orientation: _encode(fmt, exif=samples.exif_bytes(orientation=orientation))


def _tiff(compression: str | None) -> Callable[[int], bytes]:
    """A TIFF whose IFD 0 has the Orientation tag; uncompressed (Pillow's decoder) or deflate (libtiff's)."""
    extra = {"compression": compression} if compression else {}
    return lambda orientation: _encode("TIFF", tiffinfo={274: orientation}, **extra)


def _heic_with_thumbnail(orientation: int) -> bytes:
    """Its 320 x 160 thumbnail serves the reduced decode and the thumbnail; libheif turns it as the image."""
    return heic_with_thumbnail(SIZE, 320, exif=samples.exif_bytes(orientation=orientation), primary=marked())


def _cfa(width: int, height: int) -> np.ndarray:
    """A 12-bit RGGB mosaic of the marked picture in the raw values LibRaw shows as such (as `samples._cfa`: a
    green ground, as the dark one comes out bright)."""
    rgb = np.empty((height, width, 3), np.uint16)
    rgb[:] = (600, 3000, 600)
    rgb[: height // 4] = 3500
    rgb[: height // 4, : width // 8] = (3500, 300, 300)
    cfa = np.empty((height, width), np.uint16)
    cfa[0::2, 0::2], cfa[0::2, 1::2] = rgb[0::2, 0::2, 0], rgb[0::2, 1::2, 1]
    cfa[1::2, 0::2], cfa[1::2, 1::2] = rgb[1::2, 0::2, 1], rgb[1::2, 1::2, 2]
    return cfa


def _dng(preview: bool) -> Callable[[int], bytes]:
    """A DNG of the marked picture (its CFA data), with or without a 320 x 160 RGB preview of it in IFD 0: the
    preview serves the reduced decode and the thumbnail, LibRaw demosaics the rest (half size when reduced)."""
    def make(orientation: int) -> bytes:
        tags = samples._dng_tags("Sightline", "RawCam", None, orientation)
        raw = (_cfa(*SIZE), dict(photometric=32803, subfiletype=0, extratags=samples._CFA_TAGS))
        if not preview:
            return samples._write_dng([(raw[0], dict(raw[1], extratags=tags + samples._CFA_TAGS))])
        thumb = np.asarray(marked((320, 160)))
        return samples._write_dng([(thumb, dict(photometric="rgb", subfiletype=1, subifds=1, extratags=tags)), raw])
    return make


FILES: dict[str, Callable[[int], bytes]] = {
    "png": _with_exif("PNG"),
    "webp": _with_exif("WEBP"),
    "avif": _with_exif("AVIF"),
    "tiff": _tiff(None),
    "tiff-deflate": _tiff("tiff_deflate"),
    "heic": _with_exif("HEIF"),
    "heic-thumbnail": _heic_with_thumbnail,
    "dng-preview": _dng(preview=True),
    "dng": _dng(preview=False),
}


@functools.cache
def jpeg_reference(orientation: int) -> Seen:
    return seen(_with_exif("JPEG")(orientation))


# --- the tests ---------------------------------------------------------------------------------

@pytest.mark.parametrize("orientation", ORIENTATIONS)
def test_the_jpeg_reference_follows_the_exif_definition(orientation: int) -> None:
    turned = SIZE[::-1] if orientation in (5, 6, 7, 8) else SIZE
    thumb = (THUMBNAIL, THUMBNAIL // 2)
    reference = jpeg_reference(orientation)
    assert reference == Seen(
        decoded=(turned, turned, EXPECTED[orientation]),
        reduced=(turned[1] > turned[0], turned, EXPECTED[orientation]),
        thumbnail=(thumb[::-1] if turned != SIZE else thumb, EXPECTED[orientation]),
        metadata=turned,
    )


@pytest.mark.parametrize(
    ("kind", "size"), [("heic-thumbnail", (160, 80)), ("dng-preview", (160, 80)), ("dng", (200, 100))])
def test_the_files_take_the_reduced_paths_they_are_meant_to(kind: str, size: tuple[int, int]) -> None:
    """HEIC and DNG previews reduced by 2 (a full decode would be reduced by 3), a DNG demosaiced at half size."""
    assert decode_image(FILES[kind](1), min_side=MIN_SIDE).image.size == size


@pytest.mark.parametrize("orientation", ORIENTATIONS)
@pytest.mark.parametrize("kind", FILES)
def test_every_format_is_oriented_as_the_jpeg(kind: str, orientation: int) -> None:
    assert seen(FILES[kind](orientation)) == jpeg_reference(orientation)


def _heic_exif_without_transform(orientation: int) -> bytes:
    """A HEIC with no transform (irot/imir) whose EXIF still says ``orientation`` (its bytes patched after
    writing): HEIF's transforms alone orient the image, so the EXIF orientation must be ignored."""
    upright, claimed = samples.exif_bytes(orientation=1)[6:], samples.exif_bytes(orientation=orientation)[6:]
    data = _encode("HEIF", exif=samples.exif_bytes(orientation=1))
    assert data.count(upright) == 1 and len(claimed) == len(upright)
    return data.replace(upright, claimed)


@pytest.mark.parametrize("orientation", [3, 6, 7])
def test_heic_ignores_an_exif_orientation_its_transforms_do_not_carry(orientation: int) -> None:
    assert seen(_heic_exif_without_transform(orientation)) == jpeg_reference(1)
