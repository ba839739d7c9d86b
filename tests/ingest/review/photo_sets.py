"""A near-duplicate set of real files with known answers: generated scenes (tests/samples.py) written under a
library folder, with vectors placed by hand so that every photo is vector-near every other (as a classifier's
vectors make look-alike scenes); only the perceptual hashes tell the copies from the look-alikes."""

from __future__ import annotations

import hashlib
import io
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image

from sightline.imaging import decode_image
from sightline.imaging.phash import perceptual_hash
from sightline.ingest.review.hashes import HASH_DECODE_SIDE
from sightline.ingest.vectors import CollectionParams, Point, VectorStore
from tests.ingest.review.sets import DIM, moved, pid, unit
from tests.samples import camera_like_jpeg


def jpeg(image: Image.Image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


@cache
def files() -> dict[str, bytes]:
    """scene (640x480) with its re-encoded half-size copy, a byte-identical copy and a burst shot (shifted 3 %,
    zoomed 2 %); look-alike, another generated scene."""
    scene_bytes = camera_like_jpeg(640, 480, seed=1)
    scene = Image.open(io.BytesIO(scene_bytes)).convert("RGB")
    return {"scene": scene_bytes, "scene-small": jpeg(scene.resize((320, 240)), 60), "scene-same": scene_bytes,
            "scene-burst": jpeg(scene.crop((28, 10, 640, 470)).resize((640, 480))),
            "look-alike": camera_like_jpeg(640, 480, seed=2)}


def phash_of(data: bytes) -> str:
    return perceptual_hash(decode_image(data, min_side=HASH_DECODE_SIDE).image)


def photo_set(store: VectorStore, library: Path, *, hashed: bool, name: str = "photos",
              create: bool = True) -> dict[str, str]:
    """The files of `files()` written to `library` and stored as points of `name` (all within cosine 0.97 of
    each other), with their `phash` when `hashed` (as new points have) or without (as older points have).
    The scene is the earliest; the copies are later. Returns label → point id."""
    rng = np.random.default_rng(3)
    base = np.asarray(unit(rng.normal(size=DIM)))
    points = []
    for ts, (label, data) in enumerate(files().items()):  # a cached dict: read, never changed
        path = library / f"{label}.jpg"
        path.write_bytes(data)
        size = Image.open(io.BytesIO(data)).size
        payload = {"path": str(path), "filename": path.name, "width": size[0], "height": size[1],
                   "format": "jpeg", "sort_ts": float(ts), "bytes": len(data),
                   "sha256": hashlib.sha256(data).hexdigest()}
        if hashed:
            payload["phash"] = phash_of(data)
        vector = base if label in ("scene", "scene-same") else moved(base, 0.985, rng)
        points.append(Point(pid(label), unit(np.asarray(vector)), payload))
    if create:
        store.create_collection(name, CollectionParams(vector_size=DIM))
    store.upsert(name, points)
    return {point.payload["filename"].removesuffix(".jpg"): point.id for point in points}
