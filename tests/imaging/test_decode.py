"""decode_image and sniff_format on every format, orientation, reduced decoding and bad input."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from sightline.errors import ErrorCode, SightlineError
from sightline.imaging import (
    IMAGE_EXTENSIONS,
    SUPPORTED_FORMATS,
    DecodedImage,
    ImageDecodeError,
    decode_image,
    sniff_format,
)
from tests import samples

RED, GREEN, BLUE, WHITE = (220, 20, 20), (20, 200, 40), (20, 40, 230), (255, 255, 255)


def encode(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **kwargs)
    return buf.getvalue()


def banded(width: int, height: int) -> Image.Image:
    """Dark image with a white band over the top quarter: shows where "up" went."""
    arr = np.full((height, width, 3), 30, np.uint8)
    arr[: height // 4] = 255
    return Image.fromarray(arr)


def centre(decoded: DecodedImage) -> np.ndarray:
    arr = np.asarray(decoded.image).astype(int)
    return arr[arr.shape[0] // 2, arr.shape[1] // 2]


def band_side(image: Image.Image) -> str:
    """Which edge the white band is on."""
    arr = np.asarray(image).mean(axis=2)
    edges = {"top": arr[0].mean(), "bottom": arr[-1].mean(), "left": arr[:, 0].mean(), "right": arr[:, -1].mean()}
    return max(edges, key=edges.get)


def rgba_png() -> bytes:
    arr = np.zeros((30, 40, 4), np.uint8)
    arr[..., :3] = RED
    arr[:, :20, 3] = 255  # left half opaque red, right half fully transparent
    return encode(Image.fromarray(arr), "PNG")


def palette_png() -> bytes:
    im = Image.new("P", (40, 30), 0)
    im.putpalette([*BLUE, *RED] + [0] * 762)
    return encode(im, "PNG")


def palette_transparent_png() -> bytes:
    im = Image.new("P", (40, 30), 1)
    im.putpalette([*BLUE, *RED] + [0] * 762)
    return encode(im, "PNG", transparency=1)  # every pixel transparent: white after compositing


def gray16_png() -> bytes:
    return encode(Image.fromarray(np.full((30, 40), 40000, np.uint16)), "PNG")


def la_png() -> bytes:
    return encode(Image.new("LA", (40, 30), (100, 255)), "PNG")


def animated_gif() -> bytes:
    frames = [Image.new("RGB", (40, 30), RED), Image.new("RGB", (40, 30), BLUE)]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)


def multipage_tiff() -> bytes:
    pages = [Image.new("RGB", (40, 30), GREEN), Image.new("RGB", (50, 50), RED)]
    return encode(pages[0], "TIFF", save_all=True, append_images=pages[1:])


def rgb16_tiff() -> bytes:
    import tifffile

    buf = io.BytesIO()
    tifffile.imwrite(buf, np.full((30, 40, 3), (60000, 5000, 30000), np.uint16), photometric="rgb")
    return buf.getvalue()


def cmyk_jpeg() -> bytes:
    return encode(Image.new("CMYK", (40, 30), (0, 255, 255, 0)), "JPEG", quality=95)  # red


FORMAT_CASES = {
    "jpeg": (lambda: encode(Image.new("RGB", (40, 30), RED), "JPEG", quality=95), "jpeg", RED),
    "jpeg-progressive": (lambda: encode(Image.new("RGB", (40, 30), RED), "JPEG", progressive=True), "jpeg", RED),
    "jpeg-gray": (lambda: encode(Image.new("L", (40, 30), 90), "JPEG"), "jpeg", (90, 90, 90)),
    "jpeg-cmyk": (cmyk_jpeg, "jpeg", (255, 0, 0)),
    "png-rgb": (lambda: samples.solid_image(GREEN, (40, 30)), "png", GREEN),
    "png-rgba": (rgba_png, "png", WHITE),  # centre is on the transparent half
    "png-palette": (palette_png, "png", BLUE),
    "png-palette-transparent": (palette_transparent_png, "png", WHITE),
    "png-gray16": (gray16_png, "png", (156, 156, 156)),
    "png-gray": (lambda: encode(Image.new("L", (40, 30), 60), "PNG"), "png", (60, 60, 60)),
    "png-la": (la_png, "png", (100, 100, 100)),
    "webp": (lambda: samples.solid_image(BLUE, (40, 30), "WEBP", lossless=True), "webp", BLUE),
    "gif-first-frame": (animated_gif, "gif", RED),
    "bmp": (lambda: samples.solid_image(GREEN, (40, 30), "BMP"), "bmp", GREEN),
    "tiff-first-page": (multipage_tiff, "tiff", GREEN),
    "tiff-16bit-rgb": (rgb16_tiff, "tiff", (233, 19, 117)),
    "heif": (lambda: samples.heic_image((40, 30), color=BLUE), "heif", BLUE),
    "avif": (lambda: samples.solid_image(RED, (40, 30), "AVIF", quality=95), "avif", RED),
}


@pytest.mark.parametrize("case", FORMAT_CASES, ids=list(FORMAT_CASES))
def test_each_format_decodes_to_rgb_with_its_size(case: str) -> None:
    make, fmt, colour = FORMAT_CASES[case]
    data = make()
    decoded = decode_image(data)
    assert decoded.format == fmt == sniff_format(data)
    assert decoded.image.mode == "RGB"
    assert (decoded.width, decoded.height) == decoded.image.size == (40, 30)
    assert np.abs(centre(decoded) - np.array(colour)).max() <= 12, centre(decoded)


def test_rgba_png_keeps_opaque_pixels() -> None:
    arr = np.asarray(decode_image(rgba_png()).image).astype(int)
    assert np.abs(arr[15, 5] - np.array(RED)).max() <= 2
    assert (arr[15, 35] == 255).all()


@pytest.mark.parametrize(
    ("data", "fmt"),
    [
        (samples.solid_image(fmt="JPEG"), "jpeg"),
        (samples.solid_image(fmt="PNG"), "png"),
        (samples.solid_image(fmt="WEBP"), "webp"),
        (samples.solid_image(fmt="GIF"), "gif"),
        (samples.solid_image(fmt="BMP"), "bmp"),
        (samples.solid_image(fmt="TIFF"), "tiff"),
        (samples.heic_image(), "heif"),
        (samples.solid_image(fmt="AVIF"), "avif"),
        (samples.dng_with_preview(64, 48, (32, 24)), "dng"),
        (samples.dng_without_preview(64, 48), "dng"),
        (b"II*\x00\x10\x00\x00\x00CR\x02\x00" + bytes(32), "raw"),  # Canon CR2 header
        (b"IIRO\x08\x00\x00\x00" + bytes(32), "raw"),  # Olympus ORF
        (b"FUJIFILMCCD-RAW 0201" + bytes(32), "raw"),
        (b"\x00\x00\x00\x18ftypcrx \x00\x00\x00\x01crx isom", "raw"),  # Canon CR3
        (b"", None),
        (b"just some text\n", None),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", None),
        (b"BMW is not a bitmap", None),
        (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom", None),  # an MP4 video
    ],
)
def test_sniff_format(data: bytes, fmt: str | None) -> None:
    assert sniff_format(data) == fmt


def test_plain_tiff_from_a_camera_maker_is_not_raw() -> None:
    exif = Image.Exif()
    exif[271], exif[272] = "NIKON CORPORATION", "NIKON D850"
    assert sniff_format(encode(Image.new("RGB", (8, 8)), "TIFF", exif=exif)) == "tiff"


def test_format_comes_from_the_bytes_not_the_file_name(tmp_path) -> None:
    path = tmp_path / "holiday.png"  # really a JPEG
    path.write_bytes(samples.solid_image(RED, fmt="JPEG"))
    assert decode_image(path.read_bytes()).format == "jpeg"
    text = tmp_path / "notes.jpg"
    text.write_bytes(b"not an image at all")
    with pytest.raises(ImageDecodeError) as err:
        decode_image(text.read_bytes())
    assert err.value.code == ErrorCode.UNSUPPORTED_FORMAT


def test_public_constants() -> None:
    assert {"jpeg", "png", "webp", "gif", "bmp", "tiff", "heif", "dng", "raw"} <= set(SUPPORTED_FORMATS)
    assert {".jpg", ".jpeg", ".heic", ".dng", ".cr2", ".cr3", ".nef", ".arw", ".raf"} <= IMAGE_EXTENSIONS
    assert all(ext == ext.lower() and ext.startswith(".") for ext in IMAGE_EXTENSIONS)


# --- orientation ----------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
@pytest.mark.parametrize(("orientation", "side"), [(1, "top"), (3, "bottom"), (6, "right"), (8, "left")])
@pytest.mark.parametrize("min_side", [None, 64])
def test_exif_orientation_is_applied(fmt: str, orientation: int, side: str, min_side: int | None) -> None:
    data = encode(banded(400, 200), fmt, exif=samples.exif_bytes(orientation=orientation))
    decoded = decode_image(data, min_side=min_side)
    turned = orientation in (6, 8)
    assert (decoded.width, decoded.height) == ((200, 400) if turned else (400, 200))
    assert band_side(decoded.image) == side
    w, h = decoded.image.size
    assert (h > w) == turned
    if min_side is not None:  # reduced: short side in [min_side, 2 * min_side]
        assert min_side <= min(w, h) <= 2 * min_side


@pytest.mark.parametrize("fmt", ["HEIF", "AVIF"])
def test_heif_and_avif_orientation_is_applied_once(fmt: str) -> None:
    data = encode(banded(64, 48), fmt, exif=samples.exif_bytes(orientation=6))
    decoded = decode_image(data)
    assert decoded.image.size == (48, 64) == (decoded.width, decoded.height)
    assert band_side(decoded.image) == "right"


# --- reduced decoding -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def camera_jpeg() -> bytes:
    return samples.camera_like_jpeg()  # 4000 x 3000


def test_camera_like_jpeg_is_photo_sized(camera_jpeg: bytes) -> None:
    assert 2_000_000 <= len(camera_jpeg) <= 5_000_000
    assert samples.camera_like_jpeg(64, 48, seed=3) == samples.camera_like_jpeg(64, 48, seed=3)
    assert samples.camera_like_jpeg(64, 48, seed=3) != samples.camera_like_jpeg(64, 48, seed=4)


def test_distinct_images_differ_a_lot() -> None:
    images = [np.asarray(decode_image(samples.distinct_image(i)).image, dtype=float) for i in range(24)]
    for i in range(len(images)):
        for j in range(i + 1, len(images)):
            assert np.abs(images[i] - images[j]).mean() > 30, (i, j)
    assert samples.distinct_image(5) == samples.distinct_image(5)


@pytest.mark.parametrize("min_side", [224, 320, 1000])
def test_reduced_jpeg_decode_really_reduces(camera_jpeg: bytes, min_side: int) -> None:
    decoded = decode_image(camera_jpeg, min_side=min_side)
    assert (decoded.width, decoded.height) == (4000, 3000)
    assert min_side <= min(decoded.image.size) <= 2 * min_side
    assert decoded.image.mode == "RGB"


def test_full_jpeg_decode_keeps_full_size(camera_jpeg: bytes) -> None:
    decoded = decode_image(camera_jpeg)
    assert decoded.image.size == (4000, 3000) == (decoded.width, decoded.height)


def test_reduced_decode_matches_full_decode_content() -> None:
    data = samples.camera_like_jpeg(800, 600, seed=5)
    small = decode_image(data, min_side=100).image
    full = decode_image(data).image.resize(small.size, Image.Resampling.BOX)
    diff = np.abs(np.asarray(small, dtype=int) - np.asarray(full, dtype=int)).mean()
    assert diff < 8


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "TIFF", "BMP", "HEIF"])
def test_reduced_decode_of_other_formats(fmt: str) -> None:
    data = encode(banded(1000, 800), fmt)
    decoded = decode_image(data, min_side=100)
    assert (decoded.width, decoded.height) == (1000, 800)
    assert 100 <= min(decoded.image.size) <= 200
    assert band_side(decoded.image) == "top"


MODE_CASES = [(m, f) for m in ("1", "L", "P", "LA", "RGBA", "I;16") for f in ("PNG", "GIF", "TIFF")] + [("I", "TIFF")]


@pytest.mark.parametrize(("mode", "fmt"), MODE_CASES)
def test_reduced_decode_of_any_mode(mode: str, fmt: str) -> None:
    image = banded(400, 300).convert("L" if mode.startswith("I") else mode)
    if mode == "I;16":
        image = Image.fromarray(np.asarray(image).astype(np.uint16) * 257)
    elif mode == "I":
        image = Image.fromarray(np.asarray(image).astype(np.int32) * 257)
    decoded = decode_image(encode(image, fmt), min_side=50)
    assert decoded.image.mode == "RGB"
    assert 50 <= min(decoded.image.size) <= 100
    assert band_side(decoded.image) == "top"


def test_min_side_larger_than_the_image_keeps_it_whole() -> None:
    decoded = decode_image(samples.solid_image(size=(64, 48), fmt="JPEG"), min_side=500)
    assert decoded.image.size == (64, 48)


# --- DNG / RAW ------------------------------------------------------------------------------

def is_colour(pixel: np.ndarray, colour) -> bool:
    return bool(np.abs(pixel - np.array(colour)).max() <= 40)


def is_cfa_green(pixel: np.ndarray) -> bool:
    """The demosaiced CFA data of the sample DNGs: saturated green, little blue."""
    return bool(pixel[1] > 200 and pixel[2] < 120)


def test_dng_uses_its_preview_when_big_enough() -> None:
    data = samples.dng_with_preview(512, 384, (256, 192))
    decoded = decode_image(data, min_side=100)
    assert decoded.format == "dng"
    assert (decoded.width, decoded.height) == (512, 384)
    assert 100 <= min(decoded.image.size) <= 200
    assert is_colour(centre(decoded), BLUE), centre(decoded)  # the preview, not the green CFA
    assert band_side(decoded.image) == "top"


@pytest.mark.parametrize("min_side", [None, 300])
def test_dng_demosaics_when_the_preview_is_too_small(min_side: int | None) -> None:
    decoded = decode_image(samples.dng_with_preview(512, 384, (256, 192)), min_side=min_side)
    px = centre(decoded)
    assert is_cfa_green(px), px  # green: the CFA data
    assert decoded.image.size == (512, 384)
    assert decoded.image.mode == "RGB"


def test_dng_without_preview_uses_half_size_demosaic() -> None:
    decoded = decode_image(samples.dng_without_preview(256, 192), min_side=64)
    assert (decoded.width, decoded.height) == (256, 192)
    assert decoded.image.size == (128, 96)
    px = centre(decoded)
    assert is_cfa_green(px), px


@pytest.mark.parametrize(("orientation", "side"), [(6, "right"), (8, "left"), (3, "bottom")])
@pytest.mark.parametrize("path", ["preview", "half", "full"])
def test_dng_orientation(orientation: int, side: str, path: str) -> None:
    if path == "preview":
        data, min_side = samples.dng_with_preview(512, 384, (256, 192), orientation=orientation), 100
    else:
        data, min_side = samples.dng_without_preview(256, 192, orientation=orientation), 64
        min_side = min_side if path == "half" else None
    decoded = decode_image(data, min_side=min_side)
    turned = orientation in (6, 8)
    w, h = decoded.image.size
    assert (h > w) == turned
    assert (decoded.height > decoded.width) == turned
    assert band_side(decoded.image) == side
    px = centre(decoded)
    assert is_colour(px, BLUE) if path == "preview" else is_cfa_green(px), px


# --- bad input ------------------------------------------------------------------------------

def _jpeg() -> bytes:
    return samples.camera_like_jpeg(640, 480, seed=1)


def _noisy_png() -> bytes:
    arr = np.random.default_rng(2).integers(0, 256, (200, 300, 3), dtype=np.uint8)
    return encode(Image.fromarray(arr), "PNG")


def _corrupt_middle(data: bytes, n: int = 64) -> bytes:
    mid = len(data) // 2
    junk = bytes(np.random.default_rng(3).integers(0, 256, n, dtype=np.uint8))
    return data[:mid] + junk + data[mid + n :]


BAD_CASES = {
    "empty": (lambda: b"", ErrorCode.FILE_EMPTY),
    "text": (lambda: b"Dear diary,\nToday I wrote a text file.\n", ErrorCode.UNSUPPORTED_FORMAT),
    "pdf": (lambda: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\n", ErrorCode.UNSUPPORTED_FORMAT),
    "random": (lambda: bytes(np.random.default_rng(4).integers(0, 256, 4096, dtype=np.uint8)),
               ErrorCode.UNSUPPORTED_FORMAT),
    "truncated-jpeg": (lambda: _jpeg()[: len(_jpeg()) // 2], ErrorCode.DECODE_FAILED),
    "jpeg-missing-tail": (lambda: _jpeg()[:-64], ErrorCode.DECODE_FAILED),
    "jpeg-corrupt-middle": (lambda: _corrupt_middle(_jpeg()), ErrorCode.DECODE_FAILED),
    "jpeg-zeroed-middle": (lambda: (lambda d: d[:3000] + bytes(3000) + d[6000:])(_jpeg()), ErrorCode.DECODE_FAILED),
    "truncated-png": (lambda: _noisy_png()[: len(_noisy_png()) // 2], ErrorCode.DECODE_FAILED),
    "png-corrupt-middle": (lambda: _corrupt_middle(_noisy_png()), ErrorCode.DECODE_FAILED),
    "png-signature-only": (lambda: b"\x89PNG\r\n\x1a\n", ErrorCode.DECODE_FAILED),
    "heic-header-only": (lambda: samples.heic_image()[:40], ErrorCode.DECODE_FAILED),
    "heic-truncated": (lambda: (lambda d: d[: len(d) // 2])(samples.heic_image()), ErrorCode.DECODE_FAILED),
    "tiff-header-only": (lambda: b"II*\x00\x08\x00\x00\x00", ErrorCode.DECODE_FAILED),
    "dng-truncated": (lambda: samples.dng_without_preview()[:5000], ErrorCode.DECODE_FAILED),
    "webp-header-only": (lambda: b"RIFF\x00\x00\x00\x00WEBPVP8 ", ErrorCode.DECODE_FAILED),
}


@pytest.mark.parametrize("case", BAD_CASES, ids=list(BAD_CASES))
@pytest.mark.parametrize("min_side", [None, 64])
def test_bad_input_gets_a_stable_code(case: str, min_side: int | None) -> None:
    make, code = BAD_CASES[case]
    with pytest.raises(ImageDecodeError) as err:
        decode_image(make(), min_side=min_side)
    error = err.value
    assert isinstance(error, SightlineError)
    assert error.code == code
    assert error.message and " at 0x" not in error.message and "b'" not in error.message
    assert error.to_item().code == code


def test_bomb_png_is_refused_from_the_header(pixel_loads: list) -> None:
    bomb = samples.decompression_bomb_png(30000, 30000)
    assert len(bomb) < 500_000
    with pytest.raises(ImageDecodeError) as err:
        decode_image(bomb)
    assert pixel_loads == []  # refused before a single pixel was decoded
    assert err.value.code == ErrorCode.IMAGE_TOO_LARGE
    assert "30000x30000" in err.value.message
    assert err.value.status == 413


def test_small_bomb_png_is_a_valid_png(pixel_loads: list) -> None:
    bomb = samples.decompression_bomb_png(300, 200)
    decoded = decode_image(bomb)
    assert set(pixel_loads) == {"PNG"}  # the spy sees real decodes: the bomb tests' empty list means something
    assert decoded.image.size == (300, 200)
    assert np.asarray(decoded.image).max() == 0  # all black, as declared


def test_pillow_global_limit_does_not_apply() -> None:
    bomb = samples.decompression_bomb_png(20000, 10000)  # 200 MP: over Pillow's own 179 MP limit
    with pytest.raises(ImageDecodeError) as err:
        decode_image(bomb, max_pixels=150_000_000)
    assert err.value.code == ErrorCode.IMAGE_TOO_LARGE
    assert "150.0 megapixels" in err.value.message


@pytest.mark.parametrize(
    "data",
    [
        samples.solid_image(size=(100, 60), fmt="JPEG"),
        samples.solid_image(size=(100, 60), fmt="PNG"),
        samples.heic_image((100, 60)),
        samples.dng_without_preview(100, 60),
        samples.dng_with_preview(100, 60, (50, 30)),
    ],
    ids=["jpeg", "png", "heif", "dng", "dng-preview"],
)
def test_custom_max_pixels(data: bytes) -> None:
    assert decode_image(data, max_pixels=6000).width == 100  # exactly at the limit: fine
    with pytest.raises(ImageDecodeError) as err:
        decode_image(data, max_pixels=5999)
    assert err.value.code == ErrorCode.IMAGE_TOO_LARGE


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (MemoryError(), ErrorCode.IMAGE_TOO_LARGE),
        (Image.DecompressionBombError("too big"), ErrorCode.IMAGE_TOO_LARGE),
        (OSError("broken data stream"), ErrorCode.DECODE_FAILED),
        (SyntaxError("not a PNG file"), ErrorCode.DECODE_FAILED),
        (KeyError(b"\x00\x01"), ErrorCode.DECODE_FAILED),
    ],
)
def test_library_errors_are_mapped(monkeypatch, exc: Exception, code: ErrorCode) -> None:
    from sightline.imaging import decode as decode_module

    def boom(*args, **kwargs):
        raise exc

    monkeypatch.setattr(decode_module, "_decode_pillow", boom)
    with pytest.raises(ImageDecodeError) as err:
        decode_image(samples.solid_image(fmt="PNG"))
    assert err.value.code == code
    assert "b'" not in err.value.message
