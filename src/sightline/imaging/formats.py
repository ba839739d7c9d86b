"""Which image formats Sightline reads, and which one some bytes hold (from the bytes, never the name)."""

from __future__ import annotations

import io

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
# RAW containers that are not TIFF-structured (or are TIFF with their own magic number).
_RAW_MAGIC = (
    b"IIRO", b"IIRS", b"MMOR",   # Olympus ORF
    b"IIU\x00",                  # Panasonic RW2
    b"FUJIFILMCCD-RAW",          # Fujifilm RAF
    b"\x00MRM",                  # Minolta MRW
    b"FOVb",                     # Sigma X3F
)
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_BMP_HEADER_SIZES = {12, 16, 40, 52, 56, 64, 108, 124}
_DNG_VERSION = 50706
_MAKE = 271


_SUB_IFDS, _WIDTH, _HEIGHT, _STRIP_OFFSETS, _STRIP_BYTE_COUNTS = 330, 256, 257, 273, 279
MAX_SUB_IFDS = 8


def tiff_holds_image(data: bytes, width: int, height: int, nbytes: int) -> bool:
    """Whether IFD 0 of TIFF-structured ``data`` or one of its first SubIFDs describes a ``width`` x ``height``
    image whose strips all lie inside ``data`` and hold ``nbytes`` at least. A bitmap LibRaw hands back has
    the shape its IFD declares over the bytes its strips hold: a shape the strips do not fill reads past them."""
    ifd0 = tiff_ifd0(data)
    if ifd0 is None:
        return False
    ifds = [ifd0, *_sub_ifds(io.BytesIO(_as_tiff(data)), len(data), ifd0)]
    return any(_strips_hold(ifd, width, height, nbytes, len(data)) for ifd in ifds)


def _values(ifd: Image.Exif, tag: int) -> tuple:
    """A tag's values as a tuple (Pillow gives a single value bare)."""
    value = ifd.get(tag)
    return value if isinstance(value, tuple) else (value,)


def _sub_ifds(tiff: io.BytesIO, size: int, ifd0: Image.Exif) -> list[Image.Exif]:
    found = []
    for offset in _values(ifd0, _SUB_IFDS)[:MAX_SUB_IFDS]:
        if not isinstance(offset, int) or not 8 <= offset < size:
            continue
        try:
            ifd = Image.Exif()
            ifd.load_from_fp(tiff, offset)
            found.append(ifd)
        except Exception:  # as in tiff_ifd0: a malformed IFD has no tags
            continue
    return found


def _strips_hold(ifd: Image.Exif, width: int, height: int, nbytes: int, size: int) -> bool:
    if (ifd.get(_WIDTH), ifd.get(_HEIGHT)) != (width, height):
        return False
    offsets, counts = _values(ifd, _STRIP_OFFSETS), _values(ifd, _STRIP_BYTE_COUNTS)
    if len(offsets) != len(counts) or not all(isinstance(n, int) for n in offsets + counts):
        return False
    inside = all(0 <= offset and 0 <= count and offset + count <= size for offset, count in zip(offsets, counts))
    return inside and sum(counts) >= nbytes


def _as_tiff(data: bytes) -> bytes:
    """ORF and RW2 use their own magic number in a TIFF layout."""
    head = data[:4]
    if head in (b"IIRO", b"IIRS", b"IIU\x00"):
        return b"II*\x00" + data[4:]
    if head == b"MMOR":
        return b"MM\x00*" + data[4:]
    return data


def tiff_ifd0(data: bytes) -> Image.Exif | None:
    """The first IFD of TIFF-structured bytes (TIFF, DNG, CR2, NEF, ARW, ORF, RW2 ...), or None.

    Parses tags only, never pixels.
    """
    data = _as_tiff(data)
    if data[:4] not in _TIFF_MAGIC:
        return None
    if data[2:4] in (b"*\x00", b"\x00*"):  # classic TIFF: is IFD 0 inside the data at all?
        offset = int.from_bytes(data[4:8], "little" if data[:2] == b"II" else "big")
        if offset < 8 or offset + 2 > len(data):
            return None
    try:
        exif = Image.Exif()
        exif.load(data)
        return exif
    except Exception:  # malformed IFDs raise all sorts of things; the answer is "no tags"
        return None


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


def _tiff_format(data: bytes) -> str:
    if data[8:10] == b"CR":
        return "raw"  # Canon CR2
    ifd0 = tiff_ifd0(data)
    if ifd0 is None:
        return "tiff"  # a TIFF header with broken tags: the decoder will say what is wrong
    if _DNG_VERSION in ifd0:
        return "dng"
    # NEF, ARW, PEF, SRW, 3FR, ... are TIFF files from a camera; LibRaw refuses a plain TIFF.
    if _MAKE in ifd0 and _is_rawpy_raw(data):
        return "raw"
    return "tiff"


def sniff_format(data: bytes) -> str | None:
    """One of SUPPORTED_FORMATS from the leading bytes (and TIFF tags), or None if not an image."""
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
    if data[:4] in _TIFF_MAGIC:
        return _tiff_format(data)
    if data.startswith(_RAW_MAGIC):
        return "raw"
    return _isobmff_format(data)
