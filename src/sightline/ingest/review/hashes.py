"""The perceptual-hash check of near-duplicate pairs. A pair the vectors call near counts only when the two
photos' hashes (payload `phash`, imaging/phash.py) differ in at most `HASH_MAX_BITS` bits: the embedding alone
calls distinct look-alike scenes near-identical. Points stored before hashes were kept get theirs here, once:
read from the original (confined to the ingest roots), decoded reduced, and stored with `set_payload`. A point
whose original cannot be read keeps no hash; its pairs are decided by the vectors alone and say so."""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sightline.errors import SightlineError
from sightline.imaging import decode_image
from sightline.imaging.phash import hash_distance, perceptual_hash
from sightline.ingest.paths import open_confined
from sightline.ingest.review.tasks import Progress
from sightline.ingest.vectors import VectorStore

logger = logging.getLogger(__name__)

HASH_MAX_BITS = 16  # of 64: copies differ in 0-8 bits (6 % crops up to 22, bursts up to 15), distinct scenes in 14+
# (bench/duplicates.py: with lite at 0.90, 16 bits keeps precision 1.000 at recall 0.966; 20 bits lets look-alikes in)
HASH_DECODE_SIDE = 256  # short side of the reduced decode a missing hash is computed from


@dataclass(frozen=True)
class Check:
    """A pair's hash check: `distance` in bits, None when a hash is missing (decided by the vectors alone)."""

    distance: int | None

    @property
    def agrees(self) -> bool:
        return self.distance is None or self.distance <= HASH_MAX_BITS


def check(payloads: dict[str, dict[str, Any]], a: str, b: str) -> Check:
    first, second = payloads.get(a, {}).get("phash"), payloads.get(b, {}).get("phash")
    return Check(hash_distance(first, second) if first and second else None)


def hash_of_file(path: str, roots: Sequence[Path]) -> str | None:
    """The perceptual hash of the original at `path`; None when it cannot be read or decoded."""
    try:
        with open_confined(path, roots) as stream:
            data = stream.read()
        return perceptual_hash(decode_image(data, min_side=HASH_DECODE_SIDE).image)
    except (OSError, SightlineError) as exc:
        logger.info("no perceptual hash for %s: %s", path, exc)
        return None
    except Exception:  # a decoder bug costs this photo its hash, never the scan
        logger.warning("no perceptual hash for %s: the decoder failed", path, exc_info=True)
        return None


def fill_missing(vectors: VectorStore, name: str, ids: Collection[str], payloads: dict[str, dict[str, Any]],
                 roots: Sequence[Path], progress: Progress) -> int:
    """Compute and store the hash of each of `ids` whose payload has none (`payloads` is updated too);
    how many were stored."""
    missing = [i for i in ids if not payloads.get(i, {}).get("phash") and payloads.get(i, {}).get("path")]
    progress.start(len(missing), "hashing older photos")
    stored = 0
    for point_id in missing:
        found = hash_of_file(payloads[point_id]["path"], roots)
        if found is not None:
            vectors.set_payload(name, [point_id], {"phash": found})
            payloads[point_id]["phash"] = found
            stored += 1
        progress.advance(1)
    return stored
