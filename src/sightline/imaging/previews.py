"""Smaller copies of the picture that files carry: a camera JPEG's MPF preview, a HEIF's thumbnails.

Decoding one of these instead of the full image costs a fraction of it (a 12 MP HEIC: ~1.2 s of CPU,
its 640 px thumbnail ~40 ms). Only a copy of the whole picture qualifies: its aspect ratio must match the
primary image's (MPF also holds stereo pairs, panoramas and depth maps), and its short side must reach
the size asked for; an MPF image must also have the primary's bands (no grey copy of a colour photo),
no orientation of its own that differs from the primary's, and not be an HDR gain map. Whatever a file's
index says, a broken entry is skipped, and at most MAX_MPF_ENTRIES are looked at. RAW embedded previews
live in `decode.py` beside the RAW decoder.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import pillow_heif
from PIL import Image

from sightline.imaging.convert import exif_orientation

ASPECT_TOLERANCE = 0.02  # a preview's width/height within 2 % of the primary's
_MPF_PREVIEW_TYPES = ("Large Thumbnail", "Undefined")  # CIPA DC-007 MP types; Pillow writes "Undefined"
# Cameras write 2 to 4 MPF images; each one looked at costs a JPEG header parse (an index of 4000 entries
# pointing at one preview with a 1 MB header cost 2.6 s of CPU).
MAX_MPF_ENTRIES = 8
_GAIN_MAP_MARKS = (b"hdrgainmap", b"hdrgm:", b"urn:iso:std:iso:ts:21496")


def _same_picture(size: tuple[int, int], primary: tuple[int, int], min_side: int) -> bool:
    width, height = size
    if min(width, height) < min_side or width * height >= primary[0] * primary[1]:
        return False
    return abs(width / height - primary[0] / primary[1]) <= ASPECT_TOLERANCE * primary[0] / primary[1]


def mpf_preview(im: Image.Image, data: bytes, min_side: int) -> bytes | None:
    """The JPEG bytes of the smallest MPF image of ``im`` (opened from ``data``) that can stand in for it."""
    entries = (getattr(im, "mpinfo", {}).get(0xB002) or [])[:MAX_MPF_ENTRIES]
    primary = (im.size, im.mode, exif_orientation(im))
    best: tuple[int, bytes] | None = None
    for index, entry in enumerate(entries[1:], start=1):
        kind = str(entry.get("Attribute", {}).get("MPType", ""))
        if not kind.startswith(_MPF_PREVIEW_TYPES):
            continue
        try:
            im.seek(index)  # parses that image's JPEG header only
            usable = _same_copy(im, primary, min_side)
        except Exception:  # an entry pointing past the end or at no JPEG, a broken EXIF: the next one may do
            continue
        size, offset = im.size, im.tile[0][2]
        if usable and (best is None or size[0] * size[1] < best[0]):
            best = (size[0] * size[1], data[offset : offset + entry["Size"]])
    im.seek(0)
    return best[1] if best else None


def _same_copy(im: Image.Image, primary: tuple[tuple[int, int], str, int], min_side: int) -> bool:
    """Whether the MPF image ``im`` is seeking to shows the primary's picture as the primary does: same
    shape, same bands (no grey copy of a colour photo) and no orientation of its own that differs
    (`decode.py` turns a preview as its primary unless it has its own)."""
    size, mode, orientation = primary
    if im.mode != mode or exif_orientation(im) not in (1, orientation) or _gain_map(im):
        return False
    return _same_picture(im.size, size, min_side)


def _gain_map(im: Image.Image) -> bool:
    """Whether the MPF image ``im`` is seeking to says it is an HDR gain map (Apple's, Google's Ultra HDR,
    ISO 21496-1), which cameras store beside the picture, often at half its size and of its shape."""
    return any(mark in content.lower() for _, content in im.applist for mark in _GAIN_MAP_MARKS)


def heif_thumbnail(data: bytes, min_side: int) -> tuple[tuple[int, int], Callable[[], Image.Image]] | None:
    """The size of the smallest thumbnail of a HEIF/AVIF's primary image that can stand in for it, and
    what decodes it."""
    heif = pillow_heif.open_heif(io.BytesIO(data))
    primary = heif[heif.primary_index]
    best: tuple[int, Image.Image] | None = None
    for index in range(len(primary.info.get("thumbnails") or [])):
        thumbnail = primary.get_thumbnail(index)  # reads its header only
        size = thumbnail.size
        if _same_picture(size, primary.size, min_side) and (best is None or size[0] * size[1] < best[0]):
            best = (size[0] * size[1], thumbnail)
    return (best[1].size, best[1].to_pillow) if best else None
