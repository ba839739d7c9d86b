"""The perceptual hash tells copies of a photo from distinct photos of the same kind."""

from __future__ import annotations

import io
import itertools

import numpy as np
from PIL import Image, ImageEnhance

from sightline.imaging.phash import hash_distance, perceptual_hash
from tests.samples import _scene

COPY_BITS = 6  # the most bits a copy below differs by (measured: 2-4)
DISTINCT_BITS = 12  # the fewest bits two distinct scenes differ by (measured: 18 and more)


def scene(seed: int) -> Image.Image:
    return _scene(800, 600, np.random.default_rng(seed))


def reencoded(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def test_a_hash_is_16_hex_digits_and_the_same_for_the_same_pixels() -> None:
    first, second = perceptual_hash(scene(1)), perceptual_hash(scene(1))
    assert first == second and len(first) == 16 and int(first, 16) >= 0


def test_copies_differ_in_a_few_bits() -> None:
    original = scene(1)
    copies = [reencoded(original, 40), original.resize((400, 300)), ImageEnhance.Brightness(original).enhance(1.2),
              original.crop((24, 18, 776, 582))]
    distances = [hash_distance(perceptual_hash(original), perceptual_hash(copy)) for copy in copies]
    assert max(distances) <= COPY_BITS, distances


def test_distinct_scenes_differ_in_many_bits() -> None:
    hashes = [perceptual_hash(scene(seed)) for seed in range(2, 22)]
    assert min(hash_distance(a, b) for a, b in itertools.combinations(hashes, 2)) >= DISTINCT_BITS


def test_distance_counts_differing_bits() -> None:
    assert hash_distance("0000000000000000", "ffffffffffffffff") == 64
    assert hash_distance("00000000000000f0", "0000000000000000") == 4
