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


def tiff_ifd0(data: bytes) -> Image.Exif | None:
    """The first IFD of TIFF-structured bytes (TIFF, DNG, CR2, NEF, ARW, ORF, RW2 ...), or None.

    Parses tags only, never pixels. ORF and RW2 use their own magic number in a TIFF layout.
    """
    head = data[:4]
    if head in (b"IIRO", b"IIRS", b"IIU\x00"):
        data = b"II*\x00" + data[4:]
    elif head == b"MMOR":
        data = b"MM\x00*" + data[4:]
    elif head not in _TIFF_MAGIC:
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
