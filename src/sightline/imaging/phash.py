"""A perceptual hash of an image's content: two photos whose hashes differ in a few bits look alike to a person,
whatever their encoding, size or brightness. Near-duplicate review asks it to agree before calling two
vector-near photos duplicates (the embedding alone calls distinct look-alike scenes near-identical)."""

from __future__ import annotations

import imagehash
from PIL import Image

HASH_BITS = 64


def perceptual_hash(image: Image.Image) -> str:
    """The 64-bit difference hash (dHash) of `image`, as 16 hex digits."""
    return str(imagehash.dhash(image, hash_size=8))


def hash_distance(a: str, b: str) -> int:
    """How many of the 64 bits differ between two hashes from `perceptual_hash`."""
    return (int(a, 16) ^ int(b, 16)).bit_count()
