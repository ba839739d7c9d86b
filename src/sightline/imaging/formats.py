"""Which image formats Sightline reads, which one some bytes hold (from the bytes, never the name), and the IFDs
of TIFF-structured files, read within bounds before any decoder is handed them."""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, field

import pillow_heif
from PIL import Image

# Pillow set-up shared by the imaging modules, done once at import.
pillow_heif.register_heif_opener()
# decode_image checks its own, configurable pixel limit from the header before decoding; Pillow's
# global guard (89 MP warning, 179 MP error) would otherwise refuse images that limit allows.
Image.MAX_IMAGE_PIXELS = None

SUPPORTED_FORMATS: tuple[str, ...] = (
    "jpeg", "png", "webp", "gif", "bmp", "tiff", "heif", "avif", "dng", "raw",
)

IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {
        ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".gif", ".bmp", ".dib", ".tif", ".tiff",
        ".heic", ".heif", ".hif", ".avif", ".dng",
        # camera RAW
        ".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".orf", ".rw2", ".raf",
        ".pef", ".srw", ".rwl", ".raw", ".3fr", ".erf", ".kdc", ".dcr", ".mrw", ".x3f", ".iiq",
        ".mos", ".mef", ".fff",
    }
)

_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
# RAW containers that are TIFF with their own magic number, and those that are not TIFF-structured.
_TIFF_LAYOUT_RAW = (
    b"IIRO", b"IIRS", b"MMOR",   # Olympus ORF
    b"IIU\x00",                  # Panasonic RW2
)
_RAW_MAGIC = (
    b"FUJIFILMCCD-RAW",          # Fujifilm RAF
    b"\x00MRM",                  # Minolta MRW
    b"FOVb",                     # Sigma X3F
)
_BMP_HEADER_SIZES = {12, 16, 40, 52, 56, 64, 108, 124}
_DNG_VERSION = 50706
_MAKE = 271


# --- TIFF structure: IFDs read within bounds, once -------------------------------------------------------
# Pillow reads as many entries as an IFD declares, whatever the file holds: one count of 65,535 over image data
# cost ~90 ms of CPU a parse, and Pillow's TIFF decoder parses IFD 0 three times. A file's IFDs are checked here
# first, with `struct`, and their entries kept for the readers below.

MAX_IFD_ENTRIES = 512  # LibRaw (as dcraw) reads no IFD of more; a camera's IFDs have fewer than 200
MAX_SUB_IFDS = 8
_SUB_IFDS, _WIDTH, _HEIGHT, _STRIP_OFFSETS, _STRIP_BYTE_COUNTS = 330, 256, 257, 273, 279
_EXIF_IFD, _GPS_IFD, _INTEROP_IFD = 34665, 34853, 40965  # the IFDs Pillow's TIFF decoder reads besides IFD 0
# Pillow's TIFF decoder makes a tile of each strip or tile it declares, at open: 1,000,000 of them in a 10.8 MB
# file cost ~70 ms of CPU and 40 MB (a 200 MB file can declare 18 times as many). 65,536 are 1-row strips of a
# 65,536-row image, or 256 px tiles of 4 gigapixels.
MAX_TIFF_CHUNKS = 65_536
_CHUNK_TAGS = (273, 279, 324, 325)  # StripOffsets, StripByteCounts, TileOffsets, TileByteCounts
_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4, 16: 8, 17: 8, 18: 8}
_UNSIGNED = {3: "H", 4: "I", 13: "I", 16: "Q", 18: "Q"}  # SHORT, LONG, IFD, LONG8, IFD8: sizes and offsets


class TiffError(ValueError):
    """A TIFF structure whose IFDs a parser must not be handed; the message says why."""


@dataclass(frozen=True, slots=True)
class Entry:
    type: int
    count: int
    at: int  # where its value field starts: the value when it fits there, else the value's offset


def _entry_count(data: bytes, order: str, big: bool, offset: int) -> int | None:
    """How many entries the IFD at ``offset`` declares; None when its count lies outside ``data``."""
    size = 8 if big else 2
    if not 0 <= offset <= len(data) - size:
        return None
    return int.from_bytes(data[offset : offset + size], "little" if order == "<" else "big")


def _read_ifd(data: bytes, order: str, big: bool, offset: int) -> dict[int, Entry]:
    """The entries of the IFD at ``offset`` by tag (the first of a repeated tag, as Pillow). Raises TiffError
    when it lies outside ``data``, declares more than MAX_IFD_ENTRIES or more than ``data`` holds."""
    count = _entry_count(data, order, big, offset)
    if count is None or offset < 8:
        raise TiffError(f"an IFD at {offset} lies outside the file")
    if count > MAX_IFD_ENTRIES:
        raise TiffError(f"an IFD declares {count} entries, more than {MAX_IFD_ENTRIES}")
    start, entry_size, value_field = (offset + 8, 20, 12) if big else (offset + 2, 12, 8)
    if start + count * entry_size > len(data):
        raise TiffError(f"an IFD of {count} entries runs past the end of the file")
    layout = order + ("HHQ" if big else "HHI")
    entries: dict[int, Entry] = {}
    for at in range(start, start + count * entry_size, entry_size):
        tag, kind, values = struct.unpack_from(layout, data, at)
        entries.setdefault(tag, Entry(kind, values, at + value_field))
    return entries


@dataclass(frozen=True)
class Tiff:
    """A TIFF-structured file (TIFF, DNG, CR2, NEF, ARW, ORF, RW2 ...): byte order and IFD 0's entries,
    read once; values are read only when asked for."""

    data: bytes = field(repr=False)
    order: str  # "<" or ">"
    big: bool   # BigTIFF
    ifd0: dict[int, Entry]

    def ifd(self, offset: int) -> dict[int, Entry]:
        """The entries of the IFD at ``offset``; raises TiffError (see `_read_ifd`)."""
        return _read_ifd(self.data, self.order, self.big, offset)

    def _value_at(self, entry: Entry, size: int) -> int | None:
        """Where ``entry``'s values start, if all of them lie inside the file."""
        at = entry.at
        if entry.count * size > (8 if self.big else 4):
            (at,) = struct.unpack_from(self.order + ("Q" if self.big else "I"), self.data, entry.at)
        return at if at + entry.count * size <= len(self.data) else None

    def has(self, tag: int) -> bool:
        """Whether IFD 0 holds ``tag`` with a value Pillow would read (a known type, inside the file)."""
        entry = self.ifd0.get(tag)
        if entry is None or entry.type not in _TYPE_SIZES or entry.count == 0:
            return False
        return self._value_at(entry, _TYPE_SIZES[entry.type]) is not None

    def values(self, entry: Entry | None, first: int) -> tuple[int, ...] | None:
        """The first ``first`` values of an unsigned-integer ``entry``; None when it is absent, of another
        type or not all inside the file."""
        if entry is None or entry.type not in _UNSIGNED:
            return None
        code = _UNSIGNED[entry.type]
        at = self._value_at(entry, struct.calcsize(code))
        if at is None:
            return None
        return struct.unpack_from(f"{self.order}{min(entry.count, first)}{code}", self.data, at)

    def single(self, ifd: dict[int, Entry], tag: int) -> int | None:
        """``tag``'s value in ``ifd`` when it is one unsigned integer (which Pillow gives bare)."""
        entry = ifd.get(tag)
        values = self.values(entry, 1) if entry is not None and entry.count == 1 else None
        return values[0] if values else None

    def exif(self) -> Image.Exif | None:
        """IFD 0 read by Pillow (whose values metadata.py reads), or None when Pillow cannot read it."""
        try:
            exif = Image.Exif()
            exif.load(_as_tiff(self.data))
            return exif
        except Exception:  # malformed values raise all sorts of things; the answer is "no tags"
            return None


def read_tiff(data: bytes) -> Tiff | None:
    """``data``'s TIFF structure, IFD 0 read, or None if ``data`` is not TIFF-structured. Raises TiffError
    when IFD 0 is out of bounds (see `_read_ifd`)."""
    if data[:4] not in _TIFF_MAGIC + _TIFF_LAYOUT_RAW:
        return None
    order, big, offset = _header(data)
    return Tiff(data, order, big, _read_ifd(data, order, big, offset))


def _header(data: bytes) -> tuple[str, bool, int]:
    """Byte order, whether BigTIFF, and where IFD 0 is; raises TiffError when the header is cut short."""
    order, big = "<" if data[:2] == b"II" else ">", data[2:4] in (b"+\x00", b"\x00+")
    if len(data) < (16 if big else 8):
        raise TiffError("its header is cut short")
    (offset,) = struct.unpack_from(order + ("Q" if big else "I"), data, 8 if big else 4)
    return order, big, offset


def _pillow_problem(tiff: Tiff) -> str | None:
    """What Pillow's TIFF decoder must not read: every strip or tile IFD 0 declares, and the Exif and GPS IFDs
    it points at (and the Interop IFD in the Exif IFD when IFD 0 has its tag), all the entries they declare."""
    chunks = max((tiff.ifd0[tag].count for tag in _CHUNK_TAGS if tag in tiff.ifd0), default=0)
    if chunks > MAX_TIFF_CHUNKS:
        return f"it declares {chunks} strips or tiles, more than {MAX_TIFF_CHUNKS}"
    exif = tiff.single(tiff.ifd0, _EXIF_IFD)
    pointers = [exif, tiff.single(tiff.ifd0, _GPS_IFD)]
    if exif is not None and _INTEROP_IFD in tiff.ifd0:
        with suppress(TiffError):  # the Exif IFD's own problem, or one Pillow reads no Interop IFD from
            pointers.append(tiff.single(tiff.ifd(exif), _INTEROP_IFD))
    counts = [_entry_count(tiff.data, tiff.order, tiff.big, offset) or 0 for offset in pointers if offset is not None]
    if counts and max(counts) > MAX_IFD_ENTRIES:
        return f"an IFD declares {max(counts)} entries, more than {MAX_IFD_ENTRIES}"
    return None


def tiff_holds_image(tiff: Tiff, width: int, height: int, nbytes: int) -> bool:
    """Whether IFD 0 of ``tiff`` or one of its first SubIFDs describes a ``width`` x ``height`` image whose
    strips all lie inside the file and hold ``nbytes`` at least. A bitmap LibRaw hands back has the shape its
    IFD declares over the bytes its strips hold: a shape the strips do not fill reads past them."""
    if _strips_hold(tiff, tiff.ifd0, width, height, nbytes):
        return True
    return any(_strips_hold(tiff, ifd, width, height, nbytes) for ifd in _sub_ifds(tiff))


def _sub_ifds(tiff: Tiff) -> Iterator[dict[int, Entry]]:
    for offset in tiff.values(tiff.ifd0.get(_SUB_IFDS), MAX_SUB_IFDS) or ():
        try:
            yield tiff.ifd(offset)
        except TiffError:  # a malformed SubIFD has no tags
            continue


def _strips_hold(tiff: Tiff, ifd: dict[int, Entry], width: int, height: int, nbytes: int) -> bool:
    if (tiff.single(ifd, _WIDTH), tiff.single(ifd, _HEIGHT)) != (width, height):
        return False
    strips, sizes = ifd.get(_STRIP_OFFSETS), ifd.get(_STRIP_BYTE_COUNTS)
    # a strip holds one row at least: more strips than rows is a lie, and a costly one to read
    if strips is None or sizes is None or strips.count != sizes.count or strips.count > height:
        return False
    offsets, counts = tiff.values(strips, height), tiff.values(sizes, height)
    if offsets is None or counts is None:
        return False
    inside = all(offset + count <= len(tiff.data) for offset, count in zip(offsets, counts))
    return inside and sum(counts) >= nbytes


def _as_tiff(data: bytes) -> bytes:
    """ORF and RW2 use their own magic number in a TIFF layout (Pillow reads only TIFF's)."""
    head = data[:4]
    if head in (b"IIRO", b"IIRS", b"IIU\x00"):
        return b"II*\x00" + data[4:]
    if head == b"MMOR":
        return b"MM\x00*" + data[4:]
    return data


def exif_within_bounds(block: bytes | None) -> bool:
    """Whether an EXIF block (a TIFF structure in a JPEG, PNG, WebP or HEIF: ``info["exif"]``) declares at most
    MAX_IFD_ENTRIES entries in its IFD 0, which Pillow's `getexif` reads all of (a PNG's eXIf chunk, a WebP's
    EXIF chunk can be of any size)."""
    block = (block or b"").removeprefix(b"Exif\x00\x00").removeprefix(b"Exif\x00\x00")  # as Pillow
    if block[:4] not in _TIFF_MAGIC:
        return True  # Pillow reads no tags from it
    try:
        order, big, offset = _header(block)
    except TiffError:
        return True
    count = _entry_count(block, order, big, offset)
    return count is None or count <= MAX_IFD_ENTRIES


def sub_ifd_within_bounds(exif: Image.Exif, tag: int) -> bool:
    """Whether the IFD ``exif``'s ``tag`` (Exif, GPS) points at declares at most MAX_IFD_ENTRIES entries:
    Pillow's `get_ifd` reads all an IFD declares (of a TIFF, a PNG's eXIf or a WebP's EXIF chunk: any size)."""
    offset, fp = exif.get(tag), getattr(exif, "fp", None)
    if not isinstance(offset, int) or offset < 0 or fp is None:
        return True  # Pillow reads nothing there
    fp.seek(offset)
    count = _entry_count(fp.read(8 if exif.bigtiff else 2), exif.endian or ">", exif.bigtiff, 0)
    return count is None or count <= MAX_IFD_ENTRIES


def _isobmff_format(data: bytes) -> str | None:
    if data[4:8] != b"ftyp" or len(data) < 12:
        return None
    box_size = int.from_bytes(data[0:4], "big")
    major = data[8:12]
    compatible = {data[i : i + 4] for i in range(16, min(box_size, len(data), 256), 4)}
    if major == b"crx ":
        return "raw"  # Canon CR3
    if major in _AVIF_BRANDS:
        return "avif"
    if major in _HEIF_BRANDS - {b"mif1", b"msf1"}:
        return "heif"
    brands = {major} | compatible
    if brands & (_HEIF_BRANDS - {b"mif1", b"msf1"}):
        return "heif"
    if brands & _AVIF_BRANDS:
        return "avif"
    if brands & {b"mif1", b"msf1"}:
        return "heif"
    return None


def _is_rawpy_raw(data: bytes) -> bool:
    import rawpy

    try:
        with rawpy.RawPy() as raw:
            raw.open_buffer(io.BytesIO(data))
        return True
    except Exception:
        return False


def _raw_by_magic(data: bytes) -> bool:
    """Olympus ORF and Panasonic RW2 (their own magic number) and Canon CR2 (TIFF marked "CR")."""
    return data[:4] in _TIFF_LAYOUT_RAW or data[8:10] == b"CR"


def _tiff_format(data: bytes, tiff: Tiff) -> str:
    if _raw_by_magic(data):
        return "raw"
    if tiff.big:
        return "tiff"  # no camera writes BigTIFF (and Pillow decodes it)
    if tiff.has(_DNG_VERSION):
        return "dng"
    # NEF, ARW, PEF, SRW, 3FR, ... are TIFF files from a camera; LibRaw refuses a plain TIFF.
    if tiff.has(_MAKE) and _is_rawpy_raw(data):
        return "raw"
    return "tiff"


@dataclass(frozen=True)
class Sniffed:
    format: str | None             # one of SUPPORTED_FORMATS, None if not an image
    tiff: Tiff | None = None       # a TIFF-structured file's IFD 0, read once for whoever needs its tags
    problem: str | None = None     # why a TIFF-structured file's IFDs must not reach a decoder


def sniff(data: bytes) -> Sniffed:
    """What ``data`` holds, from its leading bytes (and TIFF tags), and a TIFF-structured file's IFD 0."""
    try:
        tiff = read_tiff(data)
    except TiffError as exc:
        return Sniffed("raw" if _raw_by_magic(data) else "tiff", problem=str(exc))
    if tiff is None:
        return Sniffed(_other_format(data))
    fmt = _tiff_format(data, tiff)
    return Sniffed(fmt, tiff, _pillow_problem(tiff) if fmt == "tiff" else None)


def sniff_format(data: bytes) -> str | None:
    """One of SUPPORTED_FORMATS from the leading bytes (and TIFF tags), or None if not an image."""
    return sniff(data).format


def _other_format(data: bytes) -> str | None:
    if not data:
        return None
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:2] == b"BM" and len(data) >= 18 and int.from_bytes(data[14:18], "little") in _BMP_HEADER_SIZES:
        return "bmp"
    if data.startswith(_RAW_MAGIC):
        return "raw"
    return _isobmff_format(data)
