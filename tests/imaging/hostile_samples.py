"""Files built to break the preview paths: camera JPEGs whose MPF index lies, HEICs and DNGs whose previews do;
and TIFF-structured headers (TIFF, DNG, EXIF blocks) that declare more than a camera writes (`crafted_headers`).

`mpf_file` writes the MPF index itself (Pillow's MPO writer only makes honest ones), so a test can say where
each entry points and how long it claims to be. Colours and bands as `preview_samples`.
"""

from __future__ import annotations

import functools
import io
import struct
from collections.abc import Callable
from typing import NamedTuple

from tests.imaging.preview_samples import PREVIEW, PRIMARY, banded

LARGE_THUMBNAIL = 0x010001  # MPType "Large Thumbnail (VGA Equivalent)"
PRIMARY_TYPE = 0x030000  # "Baseline MP Primary Image"
_MPF_AT = 2 + 4 + 4  # SOI, the APP2 marker and length, "MPF\0": where the MP header (offsets' origin) starts


class Entry(NamedTuple):
    """One MP entry: where its image starts (absolute, in the file) and the size it claims."""
    at: int
    size: int
    kind: int = LARGE_THUMBNAIL


def jpeg(size: tuple[int, int], colour: tuple[int, int, int], *, exif: bytes | None = None,
         grey: bool = False, xmp: bytes | None = None, quality: int = 85, progressive: bool = False) -> bytes:
    buffer = io.BytesIO()
    kwargs: dict = {"exif": exif} if exif else {}
    kwargs["progressive"] = progressive
    if xmp:
        kwargs["xmp"] = xmp
    image = banded(size, colour)
    (image.convert("L") if grey else image).save(buffer, "JPEG", quality=quality, **kwargs)
    return buffer.getvalue()


def _mp_header(entries: list[Entry], count: int) -> bytes:
    """A little-endian MP index IFD: version, number of images, the entries (offsets from the header)."""
    entries_at = 8 + 2 + 3 * 12 + 4
    ifd = struct.pack("<2sHI", b"II", 42, 8) + struct.pack("<H", 3)
    ifd += struct.pack("<HHI4s", 0xB000, 7, 4, b"0100")
    ifd += struct.pack("<HHII", 0xB001, 4, 1, count)
    ifd += struct.pack("<HHII", 0xB002, 7, 16 * len(entries), entries_at) + struct.pack("<I", 0)
    body = b"".join(
        struct.pack("<IIIHH", entry.kind, entry.size, 0 if index == 0 else entry.at - _MPF_AT, 0, 0)
        for index, entry in enumerate(entries))
    return ifd + body


def mpf_app2_length(entries: int) -> int:
    """Bytes the APP2 segment `mpf_file` inserts takes, for ``entries`` entries."""
    return 4 + 4 + 8 + 2 + 3 * 12 + 4 + 16 * entries


def mpf_file(primary: bytes, appended: list[bytes], entries: list[Entry] | None = None, *,
             count: int | None = None) -> bytes:
    """``primary`` with an MPF APP2 right after its SOI and ``appended`` after its end. Without ``entries``,
    an honest index (entry 0 the primary, then each appended image as a Large Thumbnail); ``count`` is the
    NumberOfImages written (default: the number of entries)."""
    shift = mpf_app2_length(len(entries) if entries is not None else 1 + len(appended))
    if entries is None:
        at, entries = len(primary) + shift, [Entry(0, len(primary) + shift, PRIMARY_TYPE)]
        for image in appended:
            entries.append(Entry(at, len(image)))
            at += len(image)
    header = _mp_header(entries, len(entries) if count is None else count)
    app2 = b"\xff\xe2" + struct.pack(">H", 2 + 4 + len(header)) + b"MPF\x00" + header
    assert len(app2) == shift
    return primary[:2] + app2 + primary[2:] + b"".join(appended)


def honest(size: tuple[int, int] = (1200, 900), preview: tuple[int, int] = (400, 300), **kwargs) -> bytes:
    """A camera-like JPEG: the primary (green) and one Large Thumbnail preview (blue) of the same shape."""
    return mpf_file(jpeg(size, PRIMARY, **kwargs), [jpeg(preview, PREVIEW)])


def with_entries(entries_of: Callable[[int, int, int], list[Entry]], size: tuple[int, int] = (1200, 900), preview: tuple[int, int] = (400, 300),
                 count: int | None = None) -> bytes:
    """`honest`'s images with the entries ``entries_of(primary_end, preview_start, preview_length)``
    returns (the primary's end and the preview's start are absolute positions in the file)."""
    primary, image = jpeg(size, PRIMARY), jpeg(preview, PREVIEW)
    probe = entries_of(0, 0, len(image))
    end = len(primary) + mpf_app2_length(len(probe))
    return mpf_file(primary, [image], entries_of(end, end, len(image)), count=count)


def many_entries(count: int = 4000) -> bytes:
    """An index of ``count`` entries, all but the first pointing at one square (so never usable) preview:
    each entry looked at costs a JPEG header parse."""
    primary, image = jpeg((1200, 900), PRIMARY), jpeg((400, 400), PREVIEW)
    end = len(primary) + mpf_app2_length(count)
    return mpf_file(primary, [image], [Entry(0, end, PRIMARY_TYPE)] + [Entry(end, len(image))] * (count - 1))


@functools.cache
def lying_indexes() -> dict[str, bytes]:
    """`honest`'s images under an index that lies in one way each."""
    def primary(end: int) -> Entry:
        return Entry(0, end, PRIMARY_TYPE)

    return {
        "offset past the end": with_entries(lambda e, s, n: [primary(e), Entry(s + 10**6, n)]),
        "offset near 2**32": with_entries(lambda e, s, n: [primary(e), Entry(0xFFFFFFF0, n)]),
        "offset into the primary": with_entries(lambda e, s, n: [primary(e), Entry(200, n)]),
        "offset inside the preview": with_entries(lambda e, s, n: [primary(e), Entry(s + 7, n)]),
        "size past the end": with_entries(lambda e, s, n: [primary(e), Entry(s, 0xFFFFFFFF)]),
        "size cut in half": with_entries(lambda e, s, n: [primary(e), Entry(s, n // 2)]),
        "size zero": with_entries(lambda e, s, n: [primary(e), Entry(s, 0)]),
        "more images than entries": with_entries(lambda e, s, n: [primary(e), Entry(s, n)], count=5),
        "fewer images than entries": with_entries(lambda e, s, n: [primary(e), Entry(s, n), Entry(s, n)], count=2),
        "2**32-1 images": with_entries(lambda e, s, n: [primary(e), Entry(s, n)], count=0xFFFFFFFF),
        "every entry the primary's header": with_entries(lambda e, s, n: [primary(e)] + [Entry(_MPF_AT, n)] * 50),
    }


# --- HEIF: boxes patched in place -------------------------------------------------------------------------

def patch_ispe(data: bytes, which: int, size: tuple[int, int]) -> bytes:
    """The ``which``-th `ispe` box (0: the primary's in `heic_with_thumbnail`, 1: its thumbnail's) set to
    declare ``size``."""
    out, at = bytearray(data), -1
    for _ in range(which + 1):
        at = out.find(b"ispe", at + 1)
    out[at + 8 : at + 16] = struct.pack(">II", *size)
    return bytes(out)


def patch_thumbnail_reference(data: bytes, thumbnail_item: int, of_item: int) -> bytes:
    """The `thmb` reference of a one-thumbnail HEIC rewritten to say ``thumbnail_item`` is a thumbnail of
    ``of_item`` (items 1 and 2 exist: the primary and its thumbnail)."""
    out = bytearray(data)
    at = out.find(b"thmb")
    out[at + 4 : at + 8] = struct.pack(">HH", thumbnail_item, 1)
    out[at + 8 : at + 10] = struct.pack(">H", of_item)
    return bytes(out)


# --- DNG: IFD 0 (the preview of `samples.dng_with_preview`) patched in place ------------------------------

def patch_ifd0(data: bytes, tag: int, value: int) -> bytes:
    """IFD 0's ``tag`` (a LONG, or a SHORT in the first two bytes of the entry's value) set to ``value``."""
    import tifffile

    with tifffile.TiffFile(io.BytesIO(data)) as tiff:
        found = tiff.pages[0].tags[tag]
        at, short = found.valueoffset, found.dtype == 3
    out = bytearray(data)
    out[at : at + (2 if short else 4)] = struct.pack("<H" if short else "<I", value)
    return bytes(out)


def dng_preview_larger_than_its_strips(data: bytes, size: tuple[int, int] = (12000, 9000)) -> bytes:
    """A DNG whose RGB preview declares ``size`` but keeps its strips. LibRaw hands back a bitmap of the
    declared shape over a buffer of the strips' length: reading it crashes the process (SIGSEGV) or shows
    what the heap held (so does a preview whose StripByteCounts is cut: `patch_ifd0(data, 279, 1000)`) until
    `decode._raw_preview` checked it (`formats.tiff_holds_image`); decode it only in a child process."""
    return patch_ifd0(patch_ifd0(data, 256, size[0]), 257, size[1])



# --- TIFF and DNG headers that declare more than the file holds, patched in place ---------------------------
# Pillow reads as many IFD entries as an IFD declares (up to 65,535: ~90 ms of CPU each time), and makes a tile
# of each strip a TIFF declares; LibRaw reads no IFD of more than 512 entries. Little-endian classic TIFF, as
# Pillow and tifffile (`samples`) write.

def _entries(data: bytes, ifd: int) -> dict[int, int]:
    """Where each entry of the IFD at ``ifd`` starts, by tag."""
    (count,) = struct.unpack_from("<H", data, ifd)
    return {struct.unpack_from("<H", data, ifd + 2 + 12 * index)[0]: ifd + 2 + 12 * index for index in range(count)}


def ifd0_offset(data: bytes) -> int:
    return struct.unpack_from("<I", data, 4)[0]


def sub_ifd_offset(data: bytes) -> int:
    """The first SubIFD of IFD 0 (`samples.dng_with_preview`: the CFA data)."""
    return struct.unpack_from("<I", data, _entries(data, ifd0_offset(data))[330] + 8)[0]


def strip_offset(data: bytes) -> int:
    """IFD 0's first strip: where its pixels start (more than 64k of bytes follow in the samples)."""
    return struct.unpack_from("<I", data, _entries(data, ifd0_offset(data))[273] + 8)[0]


def declare_entries(data: bytes, ifd: int, count: int) -> bytes:
    """The IFD at ``ifd`` declares ``count`` entries: what follows its own are read as entries."""
    out = bytearray(data)
    struct.pack_into("<H", out, ifd, count)
    return bytes(out)


def with_entry(data: bytes, replaced: int, tag: int, kind: int, count: int, value: int) -> bytes:
    """IFD 0's entry ``replaced`` rewritten as ``tag`` of ``count`` values of type ``kind`` at ``value``
    (or holding it, when it fits in 4 bytes)."""
    out = bytearray(data)
    struct.pack_into("<HHII", out, _entries(data, ifd0_offset(data))[replaced], tag, kind, count, value)
    return bytes(out)


def with_ifd_at_pixels(data: bytes, replaced: int, tag: int, count: int) -> bytes:
    """IFD 0's entry ``replaced`` made a pointer ``tag`` (34665: the Exif IFD) to an IFD at IFD 0's pixels
    that declares ``count`` entries."""
    at = strip_offset(data)
    return declare_entries(with_entry(data, replaced, tag, 4, 1, at), at, count)


def with_sub_ifds(data: bytes, count: int, entries: int) -> bytes:
    """IFD 0's SubIFDs tag lists ``count`` IFDs at its pixels, 12 bytes apart, each declaring ``entries``."""
    at, table = strip_offset(data), len(data)
    out = bytearray(with_entry(data, 330, 330, 4, count, table)) + struct.pack(f"<{count}I", *(
        at + 12 * index for index in range(count)))
    for index in range(count):
        struct.pack_into("<H", out, at + 12 * index, entries)
    return bytes(out)


def with_ifd_chain(data: bytes, length: int) -> bytes:
    """IFD 0 followed by a chain of ``length`` one-entry IFDs appended to the file."""
    ifd0, start = ifd0_offset(data), len(data)
    chain = b"".join(struct.pack("<HHHIII", 1, 254, 4, 1, 1, start + 18 * (index + 1) if index + 1 < length else 0)
                     for index in range(length))
    out = bytearray(data) + chain
    struct.pack_into("<I", out, ifd0 + 2 + 12 * len(_entries(data, ifd0)), start)
    return bytes(out)


def strips_of(data: bytes, strips: int) -> bytes:
    """IFD 0's StripOffsets and StripByteCounts both declare ``strips`` values from the file's start."""
    return with_entry(with_entry(data, 273, 273, 4, strips, 0), 279, 279, 4, strips, 0)


def plain_tiff(size: tuple[int, int] = (640, 480)) -> bytes:
    buffer = io.BytesIO()
    banded(size, PREVIEW).save(buffer, "TIFF")
    return buffer.getvalue()



def big_endian_dng(width: int = 640, height: int = 480, preview_size: tuple[int, int] = (320, 240)) -> bytes:
    """`samples.dng_with_preview` written big-endian ("MM"), as some cameras write TIFF-based RAWs."""
    import numpy as np
    import tifffile

    from tests import samples

    preview = np.asarray(banded(preview_size, PREVIEW))
    buffer = io.BytesIO()
    with tifffile.TiffWriter(buffer, byteorder=">") as writer:
        writer.write(preview, photometric="rgb", subfiletype=1, subifds=1, metadata=None,
                     extratags=samples._dng_tags("Sightline", "RawCam", samples.DEFAULT_TAKEN_AT, 1))
        writer.write(samples._cfa(width, height), photometric=32803, subfiletype=0, metadata=None,
                     extratags=samples._CFA_TAGS)
    return buffer.getvalue()

def with_long_exif(fmt: str, entries: int = 0xFFFF) -> bytes:
    """A small PNG, WebP or HEIF whose EXIF block's IFD 0 declares ``entries`` over ~790 kB of junk."""
    exif = b"II*\x00" + struct.pack("<IH", 8, entries) + bytes(range(256)) * 3100
    buffer = io.BytesIO()
    banded((64, 48), PREVIEW).save(buffer, fmt, exif=exif)
    return buffer.getvalue()


@functools.cache
def crafted_headers() -> dict[str, bytes]:
    """A DNG (`samples.dng_with_preview`, 845 kB) and a plain TIFF (922 kB), honest and with one lie each, and
    images of other formats whose EXIF block (a TIFF structure) lies."""
    from tests import samples

    dng, tiff = samples.dng_with_preview(640, 480, (320, 240)), plain_tiff()
    return {
        "dng, honest": dng,
        "dng, IFD 0 declares 65535 entries": declare_entries(dng, ifd0_offset(dng), 0xFFFF),
        "dng, IFD 0 declares 11000 entries": declare_entries(dng, ifd0_offset(dng), 11000),
        "dng, its SubIFD declares 65535 entries": declare_entries(dng, sub_ifd_offset(dng), 0xFFFF),
        "dng, 8 SubIFDs declare 65535 entries": with_sub_ifds(dng, 8, 0xFFFF),
        "dng, a chain of 20000 IFDs": with_ifd_chain(dng, 20000),
        "dng, strip tags of 100000 values": strips_of(dng, 100_000),
        "dng, Exif IFD declares 65535 entries": with_ifd_at_pixels(dng, 36867, 34665, 0xFFFF),
        "tiff, honest": tiff,
        "tiff, IFD 0 declares 65535 entries": declare_entries(tiff, ifd0_offset(tiff), 0xFFFF),
        "tiff, Exif IFD declares 65535 entries": with_ifd_at_pixels(tiff, 284, 34665, 0xFFFF),
        "tiff, strip tags of 100000 values": strips_of(tiff, 100_000),
        **{f"{fmt.lower()}, EXIF IFD 0 declares 65535 entries": with_long_exif(fmt) for fmt in ("PNG", "WEBP", "HEIF")},
    }


# --- figures: .venv/bin/python -m tests.imaging.hostile_samples ----------------------------------------------
# CPU and peak RSS of decode_image(min_side=224) for each file, one fresh process each (a crash costs that
# process only). Not a test: figures for a report, no timing assertions on shared machines.

_CHILD = """
import sys, time
from sightline.imaging import decode_image
def peak_kb():
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
data = open(sys.argv[1], "rb").read()
before, started = peak_kb(), time.process_time()
try:
    decoded = decode_image(data, min_side=224)
    outcome = f"{decoded.image.width}x{decoded.image.height} of {decoded.width}x{decoded.height}"
except Exception as exc:
    outcome = getattr(getattr(exc, "code", None), "value", type(exc).__name__)
print(f"{(time.process_time() - started) * 1000:.0f}\\t{(peak_kb() - before) / 1024:.0f}\\t{outcome}")
"""


def _figure_files() -> dict[str, bytes]:
    from tests import samples

    dng = samples.dng_with_preview(640, 480, (320, 240))
    return {
        "camera jpeg, honest index": honest(),
        "camera jpeg, 4000 entries": many_entries(4000),
        "dng, honest preview": dng,
        "dng, preview strips shorter than declared": patch_ifd0(dng, 279, 1000),
        "dng, preview 12000x9000 over its strips": dng_preview_larger_than_its_strips(dng),
    }


def main() -> None:
    import subprocess
    import sys
    import tempfile

    print("file\tbytes\tCPU ms\tpeak RSS increase (MB)\toutcome")
    with tempfile.TemporaryDirectory() as folder:
        for index, (name, data) in enumerate(_figure_files().items()):
            path = f"{folder}/{index}"
            with open(path, "wb") as file:
                file.write(data)
            done = subprocess.run([sys.executable, "-W", "ignore", "-c", _CHILD, path], capture_output=True, text=True)
            print(f"{name}\t{len(data)}\t" + (done.stdout.strip() or f"?\t?\tprocess died ({done.returncode})"))


if __name__ == "__main__":
    main()


def record_pillow_ifd_reads(patch: Callable[[object, str, object], None]) -> list[tuple[int, int]]:
    """(offset, entries read) of each IFD Pillow parses from now on (the entries from how far it moved in the
    file); ``patch`` swaps in the recording loader (``monkeypatch.setattr`` in a test, ``setattr`` for good)."""
    from PIL import TiffImagePlugin

    reads: list[tuple[int, int]] = []
    original = TiffImagePlugin.ImageFileDirectory_v2.load

    def load(self, fp) -> None:
        start = fp.tell()
        try:
            original(self, fp)
        finally:
            reads.append((start, max(0, fp.tell() - start - 6) // 12))

    patch(TiffImagePlugin.ImageFileDirectory_v2, "load", load)
    return reads
