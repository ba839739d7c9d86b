"""Synthetic images for tests and benchmarks: deterministic, generated in memory (not shipped in the package).

`tifffile` (DNG fixtures) is a dev dependency and is imported inside the functions that need it.
"""

from __future__ import annotations

import io
import struct
import zlib
from datetime import datetime

import numpy as np
from PIL import Image, ImageChops, ImageDraw
from PIL.ExifTags import IFD, Base, GPS
from PIL.TiffImagePlugin import IFDRational

from sightline.imaging import formats  # noqa: F401  (registers the HEIF opener)

DEFAULT_TAKEN_AT = datetime(2023, 7, 14, 16, 20, 5)
DEFAULT_GPS = (48.858222, 2.2945)


def _dms(value: float) -> tuple[IFDRational, IFDRational, IFDRational]:
    value = abs(value)
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round((value - degrees - minutes / 60) * 3600 * 1000)
    return IFDRational(degrees, 1), IFDRational(minutes, 1), IFDRational(seconds, 1000)


def exif_bytes(
    make: str | None = "Sightline",
    model: str | None = "Synthetic One",
    taken_at: datetime | None = DEFAULT_TAKEN_AT,
    lens: str | None = "Synthetic 24-70mm f/2.8",
    gps: tuple[float, float] | None = DEFAULT_GPS,
    orientation: int | None = 1,
    offset: str | None = None,
) -> bytes:
    """EXIF block (with the ``Exif\\0\\0`` header) as Pillow's ``save(exif=...)`` takes it.

    ``offset`` is an EXIF OffsetTimeOriginal such as ``"+02:00"``.
    """
    exif = Image.Exif()
    if make is not None:
        exif[Base.Make] = make
    if model is not None:
        exif[Base.Model] = model
    if orientation is not None:
        exif[Base.Orientation] = orientation
    sub = exif.get_ifd(IFD.Exif)
    if taken_at is not None:
        sub[Base.DateTimeOriginal] = taken_at.strftime("%Y:%m:%d %H:%M:%S")
    if offset is not None:
        sub[Base.OffsetTimeOriginal] = offset
    if lens is not None:
        sub[Base.LensModel] = lens
    if gps is not None:
        lat, lon = gps
        exif.get_ifd(IFD.GPSInfo).update(
            {
                GPS.GPSVersionID: b"\x02\x03\x00\x00",
                GPS.GPSLatitudeRef: "N" if lat >= 0 else "S",
                GPS.GPSLatitude: _dms(lat),
                GPS.GPSLongitudeRef: "E" if lon >= 0 else "W",
                GPS.GPSLongitude: _dms(lon),
            }
        )
    return exif.tobytes()


def _encode(image: Image.Image, fmt: str, **save_kwargs) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **save_kwargs)
    return buf.getvalue()


def _scene(width: int, height: int, rng: np.random.Generator, scale: int = 8) -> Image.Image:
    """Smooth gradients and soft-edged shapes, drawn at 1/scale and upsampled."""
    lw, lh = max(2, width // scale), max(2, height // scale)
    y = np.linspace(0.0, 1.0, lh, dtype=np.float32)[:, None, None]
    x = np.linspace(0.0, 1.0, lw, dtype=np.float32)[None, :, None]
    top = rng.uniform(60, 230, 3).astype(np.float32)
    bottom = rng.uniform(20, 180, 3).astype(np.float32)
    freq = rng.uniform(1, 4, (2, 3)).astype(np.float32)
    phase = rng.uniform(0, 6.3, 3).astype(np.float32)
    wave = 25 * np.sin(freq[0] * 6.28 * x + phase) * np.cos(freq[1] * 6.28 * y)
    base = np.clip(top + (bottom - top) * y + wave, 0, 255).astype(np.uint8)
    img = Image.fromarray(base)
    draw = ImageDraw.Draw(img)
    for _ in range(14):
        x0, y0 = int(rng.integers(0, lw)), int(rng.integers(0, lh))
        w = int(rng.integers(max(1, lw // 20), max(2, lw // 3)))
        h = int(rng.integers(max(1, lh // 20), max(2, lh // 3)))
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape((x0, y0, x0 + w, y0 + h), fill=colour)
    return img.resize((width, height), Image.Resampling.BILINEAR)


def _add_grain(img: Image.Image, rng: np.random.Generator, amplitude: int) -> Image.Image:
    """Fine sensor-like noise from one tiled patch (fast: no full-size random draw)."""
    ph, pw = min(img.height, 509), min(img.width, 511)
    patch = Image.fromarray(rng.integers(0, 2 * amplitude + 1, (ph, pw, 3), dtype=np.uint8))
    noise = Image.new("RGB", img.size)
    for top in range(0, img.height, ph):
        for left in range(0, img.width, pw):
            noise.paste(patch, (left, top))
    return ImageChops.add(img, noise, 1.0, -amplitude)


def camera_like_jpeg(
    width: int = 4000,
    height: int = 3000,
    *,
    seed: int = 0,
    quality: int = 92,
    exif: dict | bytes | None = None,
) -> bytes:
    """A photo-like JPEG: about 3 MB at 12 MP and quality 92, ~0.3-0.4 s to make.

    ``exif`` is a dict of `exif_bytes` keyword arguments (or ready EXIF bytes); by default the file
    carries make, model, lens, DateTimeOriginal and GPS.
    """
    rng = np.random.default_rng(seed)
    img = _add_grain(_scene(width, height, rng), rng, amplitude=10)
    block = exif if isinstance(exif, bytes) else exif_bytes(**(exif or {}))
    return _encode(img, "JPEG", quality=quality, exif=block)


def solid_image(color=(200, 30, 30), size=(64, 48), fmt: str = "PNG", **save_kwargs) -> bytes:
    mode = "RGBA" if len(color) == 4 else "RGB"
    return _encode(Image.new(mode, size, tuple(color)), fmt, **save_kwargs)


_PALETTE = [  # far apart in RGB: the cube's corners, grey and orange
    (255, 0, 0), (0, 170, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255),
    (255, 0, 255), (255, 255, 255), (0, 0, 0), (128, 128, 128), (255, 128, 0),
]


def _pattern(kind: int, w: int, h: int) -> np.ndarray:
    """Boolean mask of one of eight very different layouts."""
    y, x = np.mgrid[0:h, 0:w]
    u, v = x / w, y / h
    masks = [
        v < 0.5,                                            # top / bottom halves
        u < 0.5,                                            # left / right halves
        (x // max(1, w // 6) + y // max(1, h // 6)) % 2 == 0,   # checkerboard
        (u - 0.5) ** 2 + (v - 0.5) ** 2 < 0.09,             # centred disc
        (y // max(1, h // 8)) % 2 == 0,                     # horizontal stripes
        (x // max(1, w // 8)) % 2 == 0,                     # vertical stripes
        u > v,                                              # diagonal split
        np.abs(u - 0.5) + np.abs(v - 0.5) < 0.3,            # diamond
    ]
    return masks[kind % len(masks)]


def distinct_image(index: int, size=(96, 96), fmt: str = "JPEG") -> bytes:
    """Visually very different images for different indexes: background, foreground and layout all
    change with the index (any two of the first 40 differ by >= 37/255 per pixel on average)."""
    w, h = size
    n = len(_PALETTE)
    bg, fg = index % n, (index * 7 + 3 + index // n) % n
    if fg == bg:
        fg = (fg + 1) % n
    mask = _pattern(index * 3 + index // n, w, h)
    arr = np.where(mask[..., None], np.array(_PALETTE[fg], np.uint8), np.array(_PALETTE[bg], np.uint8))
    return _encode(Image.fromarray(arr.astype(np.uint8)), fmt, **({"quality": 90} if fmt.upper() == "JPEG" else {}))


def heic_image(size=(64, 48), exif: dict | bytes | None = None, color=(30, 120, 220)) -> bytes:
    """A HEIC. ``exif`` as in `camera_like_jpeg` (defaults carry make, model, date, lens, GPS)."""
    block = exif if isinstance(exif, bytes) else exif_bytes(**(exif or {}))
    return _encode(Image.new("RGB", size, color), "HEIF", exif=block, quality=90)


# --- DNG ------------------------------------------------------------------------------------

def _dng_tags(make: str, model: str, taken_at: datetime | None, orientation: int) -> list[tuple]:
    tags = [
        (50706, "B", 4, (1, 4, 0, 0), True),            # DNGVersion
        (50707, "B", 4, (1, 1, 0, 0), True),            # DNGBackwardVersion
        (50708, "s", 0, f"{make} {model}", True),      # UniqueCameraModel
        (271, "s", 0, make, True),
        (272, "s", 0, model, True),
        (274, "H", 1, orientation, True),
        (50721, "2i", 9, (1, 1, 0, 1, 0, 1, 0, 1, 1, 1, 0, 1, 0, 1, 0, 1, 1, 1), True),  # ColorMatrix1
        (50728, "2I", 3, (1, 1, 1, 1, 1, 1), True),      # AsShotNeutral
        (50778, "H", 1, 21, True),                      # CalibrationIlluminant1 = D65
    ]
    if taken_at is not None:  # TIFF/EP keeps DateTimeOriginal in IFD 0
        tags.append((36867, "s", 0, taken_at.strftime("%Y:%m:%d %H:%M:%S"), True))
    return tags


_CFA_TAGS = [
    (33421, "H", 2, (2, 2), True),         # CFARepeatPatternDim
    (33422, "B", 4, (0, 1, 1, 2), True),   # CFAPattern RGGB
    (50714, "H", 1, 0, True),              # BlackLevel
    (50717, "H", 1, 4095, True),           # WhiteLevel
]


def _cfa(width: int, height: int, rgb=(600, 3000, 600)) -> np.ndarray:
    """A 12-bit RGGB mosaic: a flat colour (default green) under a white band over the top quarter,
    with a little noise. The band shows which way the decoded image was turned."""
    r, g, b = rgb
    cfa = np.empty((height, width), np.uint16)
    cfa[0::2, 0::2], cfa[0::2, 1::2], cfa[1::2, 0::2], cfa[1::2, 1::2] = r, g, g, b
    cfa[: height // 4] = 3500
    noise = np.random.default_rng(0).integers(0, 40, cfa.shape, dtype=np.uint16)
    return cfa + noise


def _write_dng(pages: list[tuple[np.ndarray, dict]]) -> bytes:
    import tifffile

    buf = io.BytesIO()
    with tifffile.TiffWriter(buf) as tw:
        for array, kwargs in pages:
            tw.write(array, metadata=None, **kwargs)
    return buf.getvalue()


def dng_with_preview(
    width: int = 512,
    height: int = 384,
    preview_size: tuple[int, int] = (256, 192),
    *,
    preview_color=(20, 40, 230),
    make: str = "Sightline",
    model: str = "RawCam",
    taken_at: datetime | None = DEFAULT_TAKEN_AT,
    orientation: int = 1,
) -> bytes:
    """DNG: IFD 0 an RGB preview of ``preview_color`` (blue), a SubIFD with green CFA data.

    A decoder that used the preview gives blue, one that demosaiced the CFA gives green; both have a
    white band over their top quarter (before orientation).
    """
    pw, ph = preview_size
    preview = np.empty((ph, pw, 3), np.uint8)
    preview[:] = preview_color
    preview[: ph // 4] = 255
    ifd0 = dict(photometric="rgb", subfiletype=1, subifds=1,
                extratags=_dng_tags(make, model, taken_at, orientation))
    raw = dict(photometric=32803, subfiletype=0, extratags=_CFA_TAGS)
    return _write_dng([(preview, ifd0), (_cfa(width, height), raw)])


def dng_without_preview(
    width: int = 256,
    height: int = 192,
    *,
    make: str = "Sightline",
    model: str = "RawCam",
    taken_at: datetime | None = DEFAULT_TAKEN_AT,
    orientation: int = 1,
) -> bytes:
    """DNG whose IFD 0 is the green CFA data itself: no preview, rawpy must demosaic."""
    tags = _dng_tags(make, model, taken_at, orientation) + _CFA_TAGS
    return _write_dng([(_cfa(width, height), dict(photometric=32803, subfiletype=0, extratags=tags))])


# --- decompression bomb ---------------------------------------------------------------------

def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def _zeros_zlib(total: int, block: int = 4_000_000) -> bytes:
    """A zlib stream of ``total`` zero bytes, made by repeating one independently flushed block."""
    block = min(block, total)
    full, rest = divmod(total, block)
    pieces = []
    for size, count in ((block, full), (rest, 1 if rest else 0)):
        if count:
            comp = zlib.compressobj(9)
            data = comp.compress(bytes(size)) + comp.flush(zlib.Z_FULL_FLUSH)
            pieces.append(data[2:] * count)  # drop the 2-byte zlib header
    adler = ((total % 65521) << 16) | 1  # adler32 of all-zero data
    # header, the blocks, an empty final fixed-Huffman block, the checksum
    return b"\x78\xda" + b"".join(pieces) + b"\x03\x00" + struct.pack(">I", adler)


def decompression_bomb_png(width: int = 30000, height: int = 30000) -> bytes:
    """A valid 1-bit greyscale PNG of width x height black pixels, ~110 kB at 30000 x 30000."""
    row = 1 + (width + 7) // 8  # filter byte + packed bits
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", _zeros_zlib(row * height))
        + _png_chunk(b"IEND", b"")
    )


# --- decompression bombs of every kind: tiny files that declare big, memory-hungry images ----------

def _png(width: int, height: int, bit_depth: int, colour_type: int, bytes_per_pixel: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", _zeros_zlib((1 + width * bytes_per_pixel) * height))
        + _png_chunk(b"IEND", b"")
    )


def bomb_rgba_png(width: int = 13000, height: int = 13000) -> bytes:
    """An 8-bit RGBA PNG of transparent black, ~650 kB at 13000 x 13000 (169 MP: under the pixel limit)."""
    return _png(width, height, 8, 6, 4)


def bomb_gray16_png(width: int = 13000, height: int = 13000) -> bytes:
    """A 16-bit greyscale PNG (Pillow mode I;16), ~330 kB at 13000 x 13000."""
    return _png(width, height, 16, 0, 2)


def bomb_rgba_webp(width: int = 13000, height: int = 13000) -> bytes:
    """A lossless RGBA WebP of one colour, 38 bytes at any size: a single-symbol prefix code takes 0 bits
    a pixel, so an 8 x 8 image's bitstream with its 14-bit sizes rewritten is a valid bigger image."""
    data = bytearray(_encode(Image.new("RGBA", (8, 8), (10, 20, 30, 40)), "WEBP", lossless=True))
    assert data[12:16] == b"VP8L" and data[20] == 0x2F
    bits = int.from_bytes(data[21:25], "little") & ~((1 << 28) - 1)
    data[21:25] = (bits | (width - 1) | ((height - 1) << 14)).to_bytes(4, "little")
    return bytes(data)


def bomb_rgba_tiff(width: int = 13000, height: int = 13000) -> bytes:
    """An RGBA TIFF, deflate-compressed in one strip of zeros, ~660 kB at 13000 x 13000."""
    strip = _zeros_zlib(width * height * 4)
    entries = [  # (tag, type, count, value): SHORT = 3, LONG = 4
        (256, 4, 1, width), (257, 4, 1, height), (258, 3, 4, None), (259, 3, 1, 8), (262, 3, 1, 2),
        (273, 4, 1, None), (277, 3, 1, 4), (278, 4, 1, height), (279, 4, 1, len(strip)),
        (284, 3, 1, 1), (338, 3, 1, 2),
    ]
    ifd_size = 2 + 12 * len(entries) + 4
    bits_at = 8 + ifd_size
    strip_at = bits_at + 8
    out = [b"II*\x00", struct.pack("<I", 8), struct.pack("<H", len(entries))]
    for tag, kind, count, value in entries:
        value = {258: bits_at, 273: strip_at}.get(tag, value)
        packed = struct.pack("<HH", value, 0) if kind == 3 and tag != 258 else struct.pack("<I", value)
        out.append(struct.pack("<HHI", tag, kind, count) + packed)
    out += [struct.pack("<I", 0), struct.pack("<4H", 8, 8, 8, 8), strip]
    return b"".join(out)


def bomb_gif_canvas(width: int = 13000, height: int = 13000) -> bytes:
    """A GIF whose logical screen is width x height around a single 1 x 1 frame with a transparent
    colour: 43 bytes."""
    return (
        b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0)   # global colour table of 2
        + b"\x00\x00\x00\xff\xff\xff"
        + b"\x21\xf9\x04\x01\x00\x00\x00\x00"                        # graphic control: index 0 transparent
        + b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0)               # image descriptor: 1 x 1 at 0, 0
        + b"\x02\x02\x44\x01\x00"                                      # LZW min code 2, one pixel of index 1
        + b"\x3b"
    )


def bomb_heic(width: int = 11900, height: int = 11900) -> bytes:
    """A 400-byte HEIC whose `ispe` declares width x height (its one tile is 64 x 64): the header alone
    says 141 MP, so a decoder must refuse it from the header."""
    data = bytearray(_encode(Image.new("RGB", (64, 64), (10, 20, 30)), "HEIF", quality=50))
    assert data.count(b"ispe") == 1
    at = data.find(b"ispe") + 8
    data[at : at + 8] = struct.pack(">II", width, height)
    return bytes(data)


BOMBS = {
    "rgba-webp": bomb_rgba_webp,
    "rgba-png": bomb_rgba_png,
    "rgba-tiff": bomb_rgba_tiff,
    "gray16-png": bomb_gray16_png,
    "gif-canvas": bomb_gif_canvas,
    "heic": bomb_heic,
}
