"""TIFF and DNG headers that declare more than a camera writes or the file holds: refused, or their lies left
unread, before Pillow or LibRaw reads them; each IFD of a file read once per decode.

Pillow reads as many IFD entries as an IFD declares: one count of 65,535 over a DNG's pixels cost ~90 ms of
CPU a parse, a TIFF's ~360 ms (Pillow's decoder parses IFD 0 three times); it makes a tile of each strip a TIFF
declares (1,000,000 in a 10.8 MB file: ~70 ms). The tests count IFD reads, ours (`formats._read_ifd`) and
Pillow's; a CPU bound (process_time, generous) is the second check.
"""

from __future__ import annotations

import io
import struct
import time
from collections.abc import Callable

import pytest
from PIL import Image

from sightline.errors import ErrorCode
from sightline.imaging import ImageDecodeError, decode_image, formats, make_thumbnail, read_metadata
from sightline.imaging.formats import MAX_IFD_ENTRIES, MAX_TIFF_CHUNKS, read_tiff, sniff_format, tiff_holds_image
from tests.imaging import hostile_samples as hostile

CPU_BOUND_S = 0.03  # refusing costs well under 1 ms; reading the lies cost 90 to 490 ms


@pytest.fixture()
def pillow_reads(monkeypatch) -> list[tuple[int, int]]:
    """(offset, entries read) of each IFD Pillow parses during the test."""
    return hostile.record_pillow_ifd_reads(monkeypatch.setattr)


@pytest.fixture()
def our_reads(monkeypatch) -> list[tuple[int, int | None]]:
    """(offset, entries read, None when refused) of each IFD formats.py reads during the test."""
    reads: list[tuple[int, int | None]] = []
    original = formats._read_ifd

    def read_ifd(data: bytes, order: str, big: bool, offset: int):
        try:
            entries = original(data, order, big, offset)
        except formats.TiffError:
            reads.append((offset, None))
            raise
        reads.append((offset, len(entries)))
        return entries

    monkeypatch.setattr(formats, "_read_ifd", read_ifd)
    return reads


def cpu_seconds(call: Callable[[], object]) -> float:
    started = time.process_time()
    try:
        call()
    except ImageDecodeError:
        pass
    return time.process_time() - started


def dng() -> bytes:
    return hostile.crafted_headers()["dng, honest"]


# --- refused before any parser reads the lie ---------------------------------------------------------------

REFUSED = {
    "dng, IFD 0 declares 65535 entries": f"65535 entries, more than {MAX_IFD_ENTRIES}",
    "dng, IFD 0 declares 11000 entries": f"11000 entries, more than {MAX_IFD_ENTRIES}",
    "tiff, IFD 0 declares 65535 entries": f"65535 entries, more than {MAX_IFD_ENTRIES}",
    "tiff, Exif IFD declares 65535 entries": f"65535 entries, more than {MAX_IFD_ENTRIES}",
    "tiff, strip tags of 100000 values": f"100000 strips or tiles, more than {MAX_TIFF_CHUNKS}",
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_a_header_that_declares_more_than_a_camera_writes_is_refused_unread(name: str, pillow_reads) -> None:
    data = hostile.crafted_headers()[name]
    for decode in (lambda: decode_image(data, min_side=224), lambda: decode_image(data),
                   lambda: make_thumbnail(data, 320)):
        with pytest.raises(ImageDecodeError) as refused:
            decode()
        assert refused.value.code is ErrorCode.DECODE_FAILED and refused.value.status == 422
        assert REFUSED[name] in refused.value.message
    meta = read_metadata(data)
    assert meta.format == "tiff" and meta.width is None and meta.camera_make is None
    assert pillow_reads == []
    assert cpu_seconds(lambda: decode_image(data, min_side=224)) < CPU_BOUND_S
    assert cpu_seconds(lambda: read_metadata(data)) < CPU_BOUND_S


def test_an_ifd_that_runs_past_the_end_of_the_file_is_refused(pillow_reads) -> None:
    tiff = hostile.plain_tiff()
    cut = tiff[: hostile.ifd0_offset(tiff) + 2 + 12 * 3]  # IFD 0 declares 10 entries; 3 are left
    with pytest.raises(ImageDecodeError) as refused:
        decode_image(cut)
    assert refused.value.code is ErrorCode.DECODE_FAILED and "runs past the end" in refused.value.message
    assert pillow_reads == []


@pytest.mark.parametrize("head", [b"II*\x00\xff\xff\xff\x7f", b"MM\x00*\x00\x00\x00\x04", b"II+\x00\x08\x00\x00"],
                         ids=["IFD 0 past the end", "IFD 0 in the header", "BigTIFF header cut"])
def test_a_header_pointing_nowhere_is_refused(head: bytes) -> None:
    with pytest.raises(ImageDecodeError) as refused:
        decode_image(head + bytes(64))
    assert refused.value.code is ErrorCode.DECODE_FAILED


def test_a_bigtiff_ifd_is_bounded_too() -> None:
    """BigTIFF counts entries in 8 bytes: 2**64 - 1 of 20 bytes each, read up to the end of the file."""
    head = b"II+\x00\x08\x00\x00\x00" + struct.pack("<QQ", 16, 2**64 - 1)
    with pytest.raises(ImageDecodeError) as refused:
        decode_image(head + bytes(20 * 1000))
    assert refused.value.code is ErrorCode.DECODE_FAILED and "more than" in refused.value.message


# --- lies in IFDs a decode does not need: left unread ------------------------------------------------------

def test_a_dng_exif_ifd_of_too_many_entries_is_left_unread(pillow_reads) -> None:
    """LibRaw decodes the DNG; metadata reads IFD 0 and skips the Exif IFD."""
    data = hostile.crafted_headers()["dng, Exif IFD declares 65535 entries"]
    assert decode_image(data, min_side=224).image.size == (320, 240)
    meta = read_metadata(data)
    assert (meta.format, meta.camera_make, meta.width) == ("dng", "Sightline", 640)
    assert [offset for offset, _ in pillow_reads] == [hostile.ifd0_offset(data)]
    assert cpu_seconds(lambda: read_metadata(data)) < CPU_BOUND_S


def exif_with_a_long_exif_ifd(entries: int = 0xFFFF) -> bytes:
    """EXIF (a TIFF structure) whose IFD 0 holds Make and points at an Exif IFD declaring ``entries``."""
    ifd0 = struct.pack("<H", 2) + struct.pack("<HHI4s", 271, 2, 4, b"Cam\x00")
    ifd0 += struct.pack("<HHII", 34665, 4, 1, 8 + len(ifd0) + 12 + 4) + struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", 8) + ifd0 + struct.pack("<H", entries) + bytes(12 * entries + 4)


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_an_exif_ifd_of_too_many_entries_in_any_container_is_left_unread(fmt: str, pillow_reads) -> None:
    """A PNG's eXIf chunk or a WebP's EXIF chunk can be of any size."""
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48)).save(buffer, fmt, exif=exif_with_a_long_exif_ifd())
    meta = read_metadata(buffer.getvalue())
    assert (meta.camera_make, meta.width) == ("Cam", 64)
    assert len(pillow_reads) == 1  # IFD 0 only
    assert cpu_seconds(lambda: read_metadata(buffer.getvalue())) < CPU_BOUND_S


@pytest.mark.parametrize("fmt", ["png", "webp", "heif"])
def test_an_exif_block_of_too_many_entries_is_left_unread(fmt: str, pillow_reads) -> None:
    """The image decodes as if it had no EXIF (pillow_heif scans a HEIF's itself for its orientation: ~10 ms
    an open, so no CPU bound for it)."""
    data = hostile.crafted_headers()[f"{fmt}, EXIF IFD 0 declares 65535 entries"]
    decoded = decode_image(data, min_side=224)
    assert (decoded.format, decoded.width, decoded.height) == (fmt, 64, 48)
    assert (read_metadata(data).width, read_metadata(data).orientation) == (64, None)
    assert pillow_reads == []
    assert fmt == "heif" or cpu_seconds(lambda: decode_image(data, min_side=224)) < CPU_BOUND_S


def test_sub_ifds_of_too_many_entries_are_left_unread(our_reads) -> None:
    tiff = read_tiff(hostile.crafted_headers()["dng, 8 SubIFDs declare 65535 entries"])
    assert not tiff_holds_image(tiff, 999, 999, 1)  # a shape no IFD has: every SubIFD is looked at
    assert [entries for _, entries in our_reads[1:]] == [None] * formats.MAX_SUB_IFDS


def test_more_strips_than_rows_are_left_unread(monkeypatch) -> None:
    """Each strip holds a row at least; 100,000 strip offsets and sizes made two tuples of 100,000 ints."""
    longest: list[int] = []
    original = formats.Tiff.values

    def values(tiff: formats.Tiff, entry, first: int):
        found = original(tiff, entry, first)
        longest.append(len(found or ()))
        return found

    monkeypatch.setattr(formats.Tiff, "values", values)
    tiff = read_tiff(hostile.crafted_headers()["dng, strip tags of 100000 values"])
    assert not tiff_holds_image(tiff, 320, 240, 320 * 240 * 3)
    assert max(longest) <= 240


def test_a_long_ifd_chain_is_not_followed(our_reads, pillow_reads) -> None:
    """Neither Sightline nor Pillow's EXIF reader follows IFD 0's next-IFD link; LibRaw stops at 10."""
    data = hostile.crafted_headers()["dng, a chain of 20000 IFDs"]
    assert decode_image(data, min_side=224).image.size == (320, 240)
    assert read_metadata(data).camera_make == "Sightline"
    assert len(our_reads) == 2 and len(pillow_reads) == 1  # IFD 0 for each, Pillow's for metadata


# --- each IFD read once per decode -------------------------------------------------------------------------

def test_a_dng_decode_reads_each_ifd_once(our_reads, pillow_reads) -> None:
    """IFD 0 was parsed by Pillow twice (sniffing, the preview check) and its SubIFD once, as big-endian."""
    data = dng()
    assert decode_image(data, min_side=224).image.size == (320, 240)  # its preview, checked against its IFD
    assert [offset for offset, _ in our_reads] == [hostile.ifd0_offset(data)]
    assert pillow_reads == []
    our_reads.clear()
    read_metadata(data)
    assert [offset for offset, _ in our_reads] == [hostile.ifd0_offset(data)]
    assert pillow_reads == [(hostile.ifd0_offset(data), 26)]


def test_a_tiff_decode_leaves_its_ifds_to_pillow(our_reads, pillow_reads) -> None:
    """Sniffing reads IFD 0 once without Pillow; Pillow's decoder reads it as it does (twice, and its EXIF)."""
    data = hostile.crafted_headers()["tiff, honest"]
    assert decode_image(data).format == "tiff"
    assert len(our_reads) == 1 and 1 <= len(pillow_reads) <= 3


# --- honest files read as before -----------------------------------------------------------------------------

def test_a_dng_preview_or_raw_strips_are_found_in_ifd_0_or_a_sub_ifd() -> None:
    tiff = read_tiff(dng())
    assert tiff_holds_image(tiff, 320, 240, 320 * 240 * 3)  # IFD 0: the RGB preview
    assert tiff_holds_image(tiff, 640, 480, 640 * 480 * 2)  # the SubIFD: the CFA data, little-endian
    assert not tiff_holds_image(tiff, 320, 240, 320 * 240 * 3 + 1)


def test_a_big_endian_dng_is_read_as_a_little_endian_one() -> None:
    data = hostile.big_endian_dng()
    assert data[:2] == b"MM" and sniff_format(data) == "dng"
    tiff = read_tiff(data)
    assert tiff_holds_image(tiff, 320, 240, 320 * 240 * 3) and tiff_holds_image(tiff, 640, 480, 640 * 480 * 2)
    decoded = decode_image(data, min_side=224)
    assert (decoded.image.size, decoded.width, decoded.height) == ((320, 240), 640, 480)
    assert read_metadata(data).camera_make == "Sightline"


def test_a_tiff_of_one_row_strips_still_decodes() -> None:
    import numpy as np
    import tifffile

    buffer = io.BytesIO()
    tifffile.imwrite(buffer, np.full((3000, 40, 3), 200, np.uint8), photometric="rgb", rowsperstrip=1)
    assert read_tiff(buffer.getvalue()).ifd0[273].count == 3000
    decoded = decode_image(buffer.getvalue(), min_side=20)
    assert (decoded.format, decoded.width, decoded.height) == ("tiff", 40, 3000)
