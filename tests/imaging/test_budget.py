"""Decompression bombs: memory is bounded from the header (a byte budget per decode and per process),
conversions never run at full size, and a bomb is IMAGE_TOO_LARGE for that file only."""

from __future__ import annotations

import io
import subprocess
import sys
import threading

import numpy as np
import pytest
from PIL import Image

from sightline.errors import ErrorCode
from sightline.imaging import DecodeBudget, ImageDecodeError, decode_image, make_thumbnail, thumbnail_size
from sightline.imaging import convert
from tests import samples
from tests.helpers import wait_until

REFUSED = [name for name in samples.BOMBS if name != "gif-canvas"]  # a 1-byte-a-pixel canvas fits 1 GB


@pytest.mark.parametrize("bomb", REFUSED)
def test_bombs_are_refused_from_the_header(bomb: str, pixel_loads: list) -> None:
    data = samples.BOMBS[bomb]()
    assert len(data) < 700_000
    with pytest.raises(ImageDecodeError) as err:
        decode_image(data)
    assert pixel_loads == []  # refused before a single pixel was decoded
    assert err.value.code == ErrorCode.IMAGE_TOO_LARGE and err.value.status == 413
    assert "SIGHTLINE_MAX_DECODE_BYTES" in err.value.message


@pytest.mark.parametrize("bomb", ["rgba-webp", "rgba-tiff", "heic"])
def test_bombs_that_cannot_decode_reduced_are_refused_for_thumbnails_too(bomb: str, pixel_loads: list) -> None:
    with pytest.raises(ImageDecodeError) as err:
        make_thumbnail(samples.BOMBS[bomb](), 320)
    assert err.value.code == ErrorCode.IMAGE_TOO_LARGE and pixel_loads == []


def test_gif_canvas_is_bounded_by_the_budget(pixel_loads: list) -> None:
    with pytest.raises(ImageDecodeError) as err:
        decode_image(samples.bomb_gif_canvas(), min_side=320, budget=DecodeBudget(100_000_000))
    assert err.value.code == ErrorCode.IMAGE_TOO_LARGE and pixel_loads == []
    small = decode_image(samples.bomb_gif_canvas(2000, 1000), min_side=100, budget=DecodeBudget(100_000_000))
    assert small.image.size == (200, 100) and (small.width, small.height) == (2000, 1000)
    assert np.asarray(small.image).min() >= 250  # transparent canvas: white


CHILD = """
import resource, sys
from tests import samples
from sightline.imaging import DecodeBudget, decode_image
data = {name: make() for name, make in samples.BOMBS.items()}
data["gif-canvas"] = samples.bomb_gif_canvas(5000, 5000)  # decoded (25 MB canvas): keeps the test short
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
for name, bomb in data.items():
    for min_side in (None, 320):
        try:
            decode_image(bomb, min_side=min_side, budget=DecodeBudget(300_000_000))
        except Exception as exc:
            assert exc.code.value == "IMAGE_TOO_LARGE", (name, exc)
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
"""


def test_no_bomb_raises_peak_memory_over_the_budget() -> None:
    """All six bombs, full and reduced, in one fresh process under a 300 MB budget (before: 4.5 GB)."""
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, check=True)
    assert int(done.stdout) < 300  # MB of peak RSS growth


def test_a_decode_over_the_limit_is_refused_and_others_wait_their_turn() -> None:
    budget = DecodeBudget(1000)
    with pytest.raises(ImageDecodeError) as err:
        with budget.reserve(1001, "this image"):
            pass
    assert err.value.code == ErrorCode.IMAGE_TOO_LARGE and "this image" in err.value.message
    order = []

    def second() -> None:
        with budget.reserve(600, "second"):
            order.append("second")

    with budget.reserve(600, "first"):
        waiter = threading.Thread(target=second)
        waiter.start()
        wait_until(lambda: budget.waiting == 1, what="the second decode waiting")
        assert order == [] and budget.held == 600
        order.append("first done")
    waiter.join(10)
    assert order == ["first done", "second"] and budget.held == 0


def _image(mode: str) -> Image.Image:
    rng = np.random.default_rng(1)
    if mode == "I;16":
        return Image.fromarray(rng.integers(0, 65535, (97, 61), dtype=np.uint16))
    if mode == "P":
        image = Image.fromarray(rng.integers(0, 4, (97, 61), dtype=np.uint8), "P")
        image.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9] + [0] * 756)
        image.info["transparency"] = 2
        return image
    return Image.fromarray(rng.integers(0, 256, (97, 61, len(mode)), dtype=np.uint8), mode)


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P", "I;16"])
@pytest.mark.parametrize("factor", [1, 3])
def test_strip_conversion_equals_whole_image_conversion(monkeypatch, mode: str, factor: int) -> None:
    image = _image(mode)
    whole = convert.to_rgb(image, 1 / 257 if mode == "I;16" else 1.0)
    expected = whole.reduce(factor) if factor > 1 else whole
    monkeypatch.setattr(convert, "STRIP_PIXELS", 61 * 7)  # 7 rows: many strips, a short last one
    assert np.array_equal(np.asarray(convert.reduced_rgb(image, factor)), np.asarray(expected))


def test_thumbnail_sizes_snap_up_to_a_fixed_set() -> None:
    assert [thumbnail_size(s) for s in (32, 160, 161, 320, 500, 1024, 1280, 2048)] == [
        160, 160, 320, 320, 640, 1280, 1280, 1280]


def test_normal_rgba_photo_still_decodes_reduced_within_the_budget() -> None:
    arr = np.zeros((1200, 1600, 4), np.uint8)
    arr[..., 0], arr[..., 3] = 200, 255
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG")
    decoded = decode_image(buf.getvalue(), min_side=200, budget=DecodeBudget(50_000_000))
    assert decoded.image.size == (267, 200) and tuple(np.asarray(decoded.image)[100, 100]) == (200, 0, 0)


def _tiff(orientation: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (1000, 800), (90, 120, 150)).save(buf, "TIFF", tiffinfo={274: orientation})
    return buf.getvalue()


def test_a_tiff_that_pillow_turns_reserves_its_turned_copy(monkeypatch) -> None:
    """Pillow's TIFF plugin turns the full-size image into a copy while it loads: a turned TIFF reserves one
    more full-size image (RGB: 4 bytes a pixel) than the same TIFF upright."""
    reserved: list[int] = []
    original = DecodeBudget.reserve

    def reserve(self: DecodeBudget, nbytes: int, what: str):
        reserved.append(nbytes)
        return original(self, nbytes, what)

    monkeypatch.setattr(DecodeBudget, "reserve", reserve)
    for orientation in (1, 6):
        decode_image(_tiff(orientation), min_side=100)
    assert reserved[1] - reserved[0] == 4 * 1000 * 800
